"""The ``nlp-service`` command. Thin: parses options and calls the library functions.

One module per command group, registered on ``app`` (``cli/base.py``) when imported, in the
order ``--help`` lists them: ``models`` (analyze, train, eval), ``serving`` (serve, replay),
``archive`` (score, report, demo-archive). The entry point stays ``nlp_service.cli:app``.
"""

# Imported for their side effect, registering the commands; the order is the help's order.
from nlp_service.cli import models  # noqa: F401

# isort: split
from nlp_service.cli import serving  # noqa: F401

# isort: split
from nlp_service.cli import archive  # noqa: F401

# isort: split
from nlp_service.cli.archive import RESUME_HINT
from nlp_service.cli.base import app

__all__ = ["RESUME_HINT", "app"]
