"""Where worker processes keep their metric values (prometheus-client's multiprocess mode).

Apart from ``metrics.py`` because the switch, ``PROMETHEUS_MULTIPROC_DIR``, is read when
prometheus-client is imported: ``serve --workers N`` forks its workers from a process that
has loaded everything, so it must set the switch before anything imports the library.
This module imports nothing that does.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def enable_multiprocess(directory: Path) -> None:
    """Switch this process and those started after this call to multiprocess mode, in an
    emptied ``directory`` (values of an earlier run must not be summed in). Call it before
    prometheus-client is imported."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(directory)
