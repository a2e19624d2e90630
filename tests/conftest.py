"""Shared fixtures: the loaded analyzer and settings pointing at writable temp dirs."""

from __future__ import annotations

import urllib.parse

import pytest
import redis

from nlp_service.analysis import Analyzer
from nlp_service.core.config import Settings, get_settings
from nlp_service.store.embedded import start_embedded, stop_embedded


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


DEFAULT_TEST_DB = 15  # used when REDIS_URL names no database; the database is flushed around every test


def _test_client(settings: Settings, tmp_path_factory) -> redis.Redis:
    url = settings.redis_url
    if url and url.startswith("redis://") and urllib.parse.urlsplit(url).path.strip("/") == "":
        # never flush database 0 of a server by accident: a URL without a database gets the test one
        parts = urllib.parse.urlsplit(url)
        return redis.Redis.from_url(urllib.parse.urlunsplit(parts._replace(path=f"/{DEFAULT_TEST_DB}")), decode_responses=True)
    if url:  # the database REDIS_URL names is honoured, so two test runs on one server stay apart
        return redis.Redis.from_url(url, decode_responses=True)
    # no REDIS_URL: a real embedded Redis server (never a fake), stopped in teardown
    return start_embedded(tmp_path_factory.mktemp("redis") / "test.rdb")


@pytest.fixture(scope="session")
def redis_server(settings: Settings, tmp_path_factory) -> redis.Redis:
    client = _test_client(settings, tmp_path_factory)
    client.ping()
    yield client
    stop_embedded(client)  # a no-op for a REDIS_URL client


@pytest.fixture
def rclient(redis_server: redis.Redis) -> redis.Redis:
    redis_server.flushdb()
    yield redis_server
    redis_server.flushdb()


@pytest.fixture
def svc_settings(settings: Settings, tmp_path) -> Settings:
    """Settings for a service instance in tests: fast state polling, no seed rules."""
    return settings.model_copy(
        update={
            "state_poll_seconds": 0.05,
            "seed_rules_path": tmp_path / "no-seed.yaml",
            "admin_key": None,
            "var_dir": tmp_path / "var",
        }
    )
