"""Shared fixtures: the loaded analyzer and settings pointing at writable temp dirs."""

from __future__ import annotations

import os
import urllib.parse

import pytest
import redis
from redis.cluster import RedisCluster

from nlp_service.analysis import Analyzer
from nlp_service.core.config import Settings, get_settings
from nlp_service.live.services import Services
from nlp_service.store.cluster import connect_cluster
from nlp_service.store.embedded import start_embedded, stop_embedded

# A Redis Cluster for the tests marked ``cluster`` (.ci/run starts one with
# tools/redis_cluster.sh): redis+cluster://host:port of any node. The cluster is flushed
# around every test, so it must be a throw-away one.
CLUSTER_URL_ENV = "NLP_SERVICE_TEST_CLUSTER_URL"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"cluster: runs against the Redis Cluster named by {CLUSTER_URL_ENV}")
    if os.environ.get("CI") == "true" and not os.environ.get(CLUSTER_URL_ENV):
        # in CI the cluster tests must run, never be deselected into a green run
        raise pytest.UsageError(f"CI=true but {CLUSTER_URL_ENV} is not set: start a cluster (tools/redis_cluster.sh), see .ci/run")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without a cluster address (a developer's machine), the cluster tests are deselected
    (reported as such); .ci/run always sets the address."""
    if os.environ.get(CLUSTER_URL_ENV):
        return
    kept = [i for i in items if i.get_closest_marker("cluster") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i.get_closest_marker("cluster") is not None])
        items[:] = kept


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


def _flush_cluster(client: RedisCluster) -> None:
    for node in client.get_primaries():
        node.redis_connection.flushdb()


@pytest.fixture(scope="session")
def cluster_server() -> RedisCluster:
    client = connect_cluster(os.environ[CLUSTER_URL_ENV])
    client.ping(target_nodes=RedisCluster.PRIMARIES)
    yield client
    client.close()


@pytest.fixture
def cluster_client(cluster_server: RedisCluster) -> RedisCluster:
    """The test cluster, empty (every primary flushed before and after)."""
    _flush_cluster(cluster_server)
    yield cluster_server
    _flush_cluster(cluster_server)


@pytest.fixture(params=["server", pytest.param("cluster", marks=pytest.mark.cluster)])
def sclient(request) -> redis.Redis:
    """The service's Redis, both ways it is deployed: one server (``rclient``) and a
    3-master Redis Cluster (``cluster_client``); a test using it runs once for each."""
    return request.getfixturevalue("rclient" if request.param == "server" else "cluster_client")


@pytest.fixture
def svc(sclient: redis.Redis, svc_settings: Settings) -> Services:
    """A service (engine, queue, state) on ``sclient``, both deployments; no state poller
    (tests step it themselves). Closed after the test."""
    s = Services.start(svc_settings, sclient, poll=False)
    yield s
    s.close()
