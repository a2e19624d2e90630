"""API keys (role admin). The raw key is returned once, at creation."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response

from nlp_service.api.deps import AdminKey, AnyKey, ServicesDep
from nlp_service.api.schemas import KeyCreatedOut, KeyIn, KeysOut, documented
from nlp_service.store import apikeys

router = APIRouter(prefix="/v1/keys", tags=["keys"])


@router.post("", status_code=201, **documented(KeyCreatedOut, 201))
def create_key(body: KeyIn, _: AdminKey, services: ServicesDep) -> dict:
    raw, record = apikeys.create_key(services.client, services.keys, body.name, body.role, body.rooms)
    services.reload_keys()
    return {"key": raw, "key_id": record.key_id, "name": record.name, "role": record.role, "rooms": list(record.rooms)}


@router.get("/me")
def who_am_i(key: AnyKey) -> dict:
    """The calling key's name, role and rooms (never the key): what a console signs in with."""
    return {"key_id": key.key_id, "name": key.name, "role": key.role, "rooms": list(key.rooms)}


@router.get("", **documented(KeysOut))
def list_keys(_: AdminKey, services: ServicesDep) -> dict:
    return {"keys": [{"key_id": k.key_id, "name": k.name, "role": k.role, "rooms": list(k.rooms)} for k in apikeys.list_keys(services.client, services.keys)]}


@router.delete("/{key_id}", status_code=204)
def revoke_key(key_id: str, _: AdminKey, services: ServicesDep) -> Response:
    if not apikeys.revoke_key(services.client, services.keys, key_id):
        raise HTTPException(404, f"no key with id {key_id!r}")
    services.reload_keys()
    return Response(status_code=204)
