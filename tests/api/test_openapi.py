"""The OpenAPI document declares the label vocabularies as enumerations, real responses
validate against the documented models, and the fast path answers byte for byte as the routes."""

from __future__ import annotations

import pytest
from starlette.exceptions import HTTPException

from nlp_service.api import fastpath
from nlp_service.api.schemas import (
    BatchOut,
    CommentOut,
    DryRunOut,
    KeyCreatedOut,
    KeysOut,
    ModerateOut,
    PullOut,
)
from nlp_service.classify.labels import INTENTS, SENTIMENTS
from nlp_service.live.reasons import REASONS
from nlp_service.moderation.labels import ACTIONS, CATEGORIES
from nlp_service.store.apikeys import ROLES


def _resolve(doc: dict, schema: dict) -> dict:
    ref = schema.get("$ref")
    return doc["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else schema


def _enum(doc: dict, model: str, *path: str) -> list:
    """The enumeration at ``path`` in a component schema (through refs, arrays and nullables)."""
    node = doc["components"]["schemas"][model]
    for step in path:
        node = _resolve(doc, node["properties"][step])
        if "anyOf" in node:
            node = _resolve(doc, next(s for s in node["anyOf"] if s.get("type") != "null"))
        if node.get("type") == "array":
            node = _resolve(doc, node["items"])
    return node["enum"]


def test_the_openapi_document_carries_the_vocabularies_as_enumerations(client) -> None:
    doc = client.get("/openapi.json").json()
    assert _enum(doc, "CommentOut", "sentiment", "label") == list(SENTIMENTS)
    assert _enum(doc, "CommentOut", "intent", "label") == list(INTENTS)
    assert _enum(doc, "CommentOut", "moderation", "action") == list(ACTIONS)
    assert _enum(doc, "CommentOut", "moderation", "categories") == list(CATEGORIES)
    assert _enum(doc, "CommentOut", "reason") == list(REASONS)
    assert _enum(doc, "KeyIn", "role") == list(ROLES)
    assert _enum(doc, "KeysOut", "keys", "role") == list(ROLES)
    assert _enum(doc, "ModerateOut", "terms", "category") == list(CATEGORIES)
    assert _enum(doc, "DryRunOut", "reason") == list(REASONS)
    responses = {(path, method): op["responses"] for path, ops in doc["paths"].items() for method, op in ops.items()}
    assert responses[("/v1/reply", "post")]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/CommentOut")
    assert responses[("/v1/keys", "post")]["201"]["content"]["application/json"]["schema"]["$ref"].endswith("/KeyCreatedOut")
    assert responses[("/v1/moderate", "post")]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/ModerateOut")


def test_real_responses_validate_against_the_documented_models(client, admin, bot, services) -> None:
    rule = {"id": "lottery", "match": {"any": ["福袋"]}, "replies": ["福袋{lottery_time}开"]}
    assert client.post("/v1/rules", json=rule, headers=admin).status_code == 201
    client.put("/v1/rooms/room1/variables", json={"lottery_time": "8点整"}, headers=admin).raise_for_status()
    services.state.refresh()
    comments = [
        {"id": "v1", "room": "room1", "user": "u1", "nickname": "小鱼", "text": "福袋几点开"},  # a reply
        {"id": "v2", "room": "room1", "user": "u2", "nickname": "", "text": "主播好漂亮"},  # no_match
        {"id": "v3", "room": "room1", "user": "u3", "nickname": "", "text": "加薇信领福利 138 0013 8000"},  # moderation
        {"id": "v4", "room": "room1", "user": "bot", "nickname": "", "text": "福袋几点开"},  # own_bot
        {"id": "v5", "room": "room1", "user": "u5", "nickname": "", "text": "\u200b"},  # invalid_text
    ]
    batch = client.post("/v1/reply/batch", json={"comments": comments}, headers=bot)
    assert batch.status_code == 200
    results = BatchOut.model_validate_json(batch.content).results
    reasons = [r.reason for r in results]
    assert reasons[0] is None and results[0].reply is not None
    assert reasons[1:] == ["no_match", "moderation", "own_bot", "invalid_text"]
    one = client.post("/v1/reply", json={**comments[0], "id": "v6", "user": "u6"}, headers=bot)
    assert CommentOut.model_validate_json(one.content).reason in REASONS

    created = client.post("/v1/keys", json={"name": "mod", "role": "moderator"}, headers=admin)
    mod = {"Authorization": f"Bearer {KeyCreatedOut.model_validate_json(created.content).key}"}
    assert {k.role for k in KeysOut.model_validate_json(client.get("/v1/keys", headers=admin).content).keys} == {"admin", "bot", "moderator"}
    moderated = ModerateOut.model_validate_json(client.post("/v1/moderate", json={"text": "加薇信领福利"}, headers=admin).content)
    assert moderated.action == "block" and moderated.terms
    pulled = PullOut.model_validate_json(client.post("/v1/moderation/pull", json={"count": 5}, headers=mod).content)
    assert [i.comment["id"] for i in pulled.items] == ["v3"]
    dry = DryRunOut.model_validate_json(client.post("/v1/rules/dry-run", json={"room": "room1", "text": "福袋几点开"}, headers=admin).content)
    assert dry.fired is not None and dry.fired.rule_id == "lottery"


def test_an_unknown_role_is_refused_with_the_roles_named(client, admin) -> None:
    bad = client.post("/v1/keys", json={"name": "k", "role": "root"}, headers=admin)
    assert bad.status_code == 422
    assert all(role in bad.json()["error"]["message"] for role in ROLES)


@pytest.mark.parametrize("path, body", [
    ("/v1/reply", {"id": "b1", "room": "room1", "user": "u1", "nickname": "小鱼", "text": "福袋几点开", "ts": 1764072600000}),
    ("/v1/reply/batch", {"comments": [{"id": "b2", "room": "room1", "user": "u2", "nickname": "", "text": "加薇信领福利"},
                                      {"id": "b3", "room": "room1", "user": "u3", "nickname": "", "text": "尺码偏大吗"}]}),
])  # fmt: skip
def test_the_fast_path_and_the_routes_answer_byte_for_byte_alike(client, bot, monkeypatch, path, body) -> None:
    fast = client.post(path, json=body, headers=bot)  # answered by the fast path
    real, refused = fastpath.answer, []

    async def refuse(*args, **kwargs):
        refused.append(args[2])
        raise HTTPException(400)  # the fast path hands every request to the app now

    monkeypatch.setattr(fastpath, "answer", refuse)
    routed = client.post(path, json=body, headers=bot)  # the same ids: the idempotent retry
    monkeypatch.setattr(fastpath, "answer", real)
    assert len(refused) == 1  # the second answer came from the route
    assert routed.status_code == fast.status_code == 200
    assert routed.content == fast.content
