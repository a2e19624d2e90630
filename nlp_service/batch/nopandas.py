"""pyarrow without its pandas probe, for the archive scorer's processes.

pyarrow imports pandas the first time it converts a Python list (``pa.array``, building a
column of labels) or asks whether an object is a pandas one, only to recognise pandas'
own values (``NaT``, ``NA``, a ``Series``). The scorer never hands it one: its columns come
from CSV, Parquet or JSON and its labels are ``str``, ``float`` and lists of ``str``. Yet
that import cost ~0.25 s of CPU in every scoring process (numpy's and pandas' modules),
more than loading every model. While :func:`without_pandas` is active, an ``import pandas``
fails, so pyarrow takes its no-pandas paths, which convert these values the same way
(``tests/batch/test_score.py`` compares the output with pandas loaded). A process that
already imported pandas is left as it is, and the import works again on leaving.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.abc import MetaPathFinder


class _NoPandas(MetaPathFinder):
    def find_spec(self, name: str, path=None, target=None):  # noqa: ANN001 - the finder protocol
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("pandas is not imported while an archive is scored (batch/nopandas.py)")
        return None


@contextmanager
def without_pandas() -> Iterator[None]:
    """No ``import pandas`` in this process (and the processes it forks) while active."""
    if "pandas" in sys.modules:  # already paid for: nothing to save
        yield
        return
    finder = _NoPandas()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
