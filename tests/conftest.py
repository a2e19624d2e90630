"""Shared fixtures: the loaded analyzer and settings pointing at writable temp dirs."""

from __future__ import annotations

import pytest

from nlp_service.analysis import Analyzer
from nlp_service.core.config import Settings, get_settings


@pytest.fixture(scope="session")
def settings() -> Settings:
    return get_settings()


@pytest.fixture(scope="session")
def analyzer(settings: Settings) -> Analyzer:
    return Analyzer.load(settings)


@pytest.fixture
def tmp_settings(tmp_path, settings: Settings) -> Settings:
    """Settings whose models and caches live in a temporary directory."""
    return settings.model_copy(update={"models_dir": tmp_path / "models", "cache_dir": tmp_path / "cache"})
