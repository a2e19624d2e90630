"""Rules, room variables and room settings (role admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response

from nlp_service.api.deps import AdminKey, RoomPath, ScopePath, ServicesDep
from nlp_service.api.schemas import DryRunIn, DryRunOut, documented
from nlp_service.core.errors import InvalidRuleError
from nlp_service.live.types import Comment
from nlp_service.replies import store
from nlp_service.replies.outcomes import room_outcomes
from nlp_service.replies.rules import Rule, dump_rules_yaml, parse_rules_yaml

router = APIRouter(prefix="/v1", tags=["rules"])


@router.get("/rules")
def list_rules(_: AdminKey, services: ServicesDep, scope: str | None = None) -> dict:
    """The rules; ``unreadable`` names stored records that no longer validate (skipped by
    the reply path too), so they can be replaced or deleted instead of failing the listing."""
    unreadable: list[dict[str, str]] = []
    rules = store.list_rules(services.client, services.keys, scope, unreadable)
    return {"rules": [r.model_dump(mode="json") for r in rules], "unreadable": unreadable}


@router.post("/rules", status_code=201)
def create_rule(rule: Rule, _: AdminKey, services: ServicesDep) -> dict:
    try:
        store.get_rule(services.client, services.keys, rule.scope, rule.id)
    except KeyError:
        return store.save_rule(services.client, services.keys, rule).model_dump(mode="json")
    raise InvalidRuleError(f"rule {rule.id!r} already exists in scope {rule.scope!r}; use PUT to replace it")


@router.get("/rules/export")
def export_rules(_: AdminKey, services: ServicesDep, scope: str | None = None) -> Response:
    text = dump_rules_yaml(store.list_rules(services.client, services.keys, scope))
    return Response(text, media_type="application/yaml")


@router.post("/rules/import")
def import_rules(
    _: AdminKey,
    services: ServicesDep,
    document: Annotated[str, Body(media_type="application/yaml")],
    replace: Annotated[bool, Query(description="clear the scopes being imported first")] = False,
) -> dict:
    rules = parse_rules_yaml(document)
    return {"imported": store.save_rules(services.client, services.keys, rules, replace_scopes=replace)}


@router.post("/rules/dry-run", **documented(DryRunOut))
def dry_run(body: DryRunIn, _: AdminKey, services: ServicesDep) -> dict:
    """Which rule would fire for this comment and why; consumes no limit."""
    comment = Comment("dry-run", body.room, body.user, body.nickname, body.text, body.ts)
    return services.engine.dry_run(comment)


@router.get("/rules/{scope}/{rule_id}")
def get_rule(scope: ScopePath, rule_id: str, _: AdminKey, services: ServicesDep) -> dict:
    return store.get_rule(services.client, services.keys, scope, rule_id).model_dump(mode="json")


@router.put("/rules/{scope}/{rule_id}")
def replace_rule(scope: ScopePath, rule_id: str, rule: Rule, _: AdminKey, services: ServicesDep) -> dict:
    if (rule.scope, rule.id) != (scope, rule_id):
        raise InvalidRuleError(f"body is rule {rule.scope}/{rule.id} but the path says {scope}/{rule_id}")
    return store.save_rule(services.client, services.keys, rule).model_dump(mode="json")


@router.delete("/rules/{scope}/{rule_id}", status_code=204)
def delete_rule(scope: ScopePath, rule_id: str, _: AdminKey, services: ServicesDep) -> Response:
    store.delete_rule(services.client, services.keys, scope, rule_id)
    return Response(status_code=204)


@router.get("/rooms/{room}/variables")
def get_variables(room: RoomPath, _: AdminKey, services: ServicesDep) -> dict:
    return {"room": room, "variables": store.get_variables(services.client, services.keys, room)}


@router.put("/rooms/{room}/variables")
def set_variables(room: RoomPath, values: dict[str, str | None], _: AdminKey, services: ServicesDep) -> dict:
    """Set variables (a null value removes one)."""
    return {"room": room, "variables": store.set_variables(services.client, services.keys, room, values)}


@router.put("/rooms/{room}/settings")
def set_settings(room: RoomPath, values: dict[str, str | int | float], _: AdminKey, services: ServicesDep) -> dict:
    return {"room": room, "settings": store.set_room_settings(services.client, services.keys, room, values)}


@router.get("/rooms/{room}/replies")
def reply_outcomes(
    room: RoomPath, _: AdminKey, services: ServicesDep, recent: Annotated[int, Query(ge=0, le=1000, description="newest deferred outcomes to list")] = 50
) -> dict:
    """What became of the room's comments that matched a rule: replied, aggregated, dropped
    and why (counts), and the newest deferred outcomes (named by a burst, dropped by budget)."""
    return room_outcomes(services.client, services.keys, room, recent)
