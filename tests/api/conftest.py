import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from nlp_service.api.app import create_app
from nlp_service.live.services import Services

ADMIN = "adm-test-key"


@pytest.fixture
def services(rclient, svc_settings):
    s = svc_settings.model_copy(update={"admin_key": SecretStr(ADMIN), "max_body_bytes": 200_000, "max_batch": 50})
    svc = Services.start(s, rclient, poll=False)
    yield svc
    svc.close()


@pytest.fixture
def client(services):
    with TestClient(create_app(services.settings, services)) as c:
        yield c


@pytest.fixture
def admin():
    return {"Authorization": f"Bearer {ADMIN}"}


@pytest.fixture
def bot(client, admin, services):
    key = client.post("/v1/keys", json={"name": "bot", "role": "bot", "rooms": ["room1"]}, headers=admin).json()["key"]
    return {"Authorization": f"Bearer {key}"}
