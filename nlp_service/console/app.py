"""The served application: the ``/v1`` API with the console mounted under ``/console``.

The API (``api/app.py``) knows nothing of the console; the console sits one layer above it
and only adds pages and static files (see the import-linter layers in pyproject.toml).
"""

from __future__ import annotations

from fastapi import FastAPI

from nlp_service.analysis import Analyzer
from nlp_service.api.app import create_app as create_api
from nlp_service.console.pages import mount
from nlp_service.core.config import Settings
from nlp_service.live.services import Services


def create_app(settings: Settings | None = None, services: Services | None = None, analyzer: Analyzer | None = None) -> FastAPI:
    """The API app with the console; arguments as for ``api.app.create_app``."""
    app = create_api(settings, services, analyzer)
    mount(app)
    return app
