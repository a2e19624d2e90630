"""Where moderation word lists come from: the project's files, plus run-time changes in Redis.

``data/moderation/<category>.txt`` (and ``allow.txt``) are the base. Operators add or remove
terms per room or globally through the API; those changes live in Redis sets and bump the
shared state version, so every instance rebuilds the room's matcher off to the side (in its
state-poll thread) and swaps it in with one assignment.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from nlp_service.core.errors import DataFileError, InvalidWordListError
from nlp_service.moderation.context_rules import ContextRules
from nlp_service.moderation.labels import LIST_CATEGORIES
from nlp_service.moderation.lexicon import Lexicon

if TYPE_CHECKING:  # redis is imported by the functions that talk to it: `score` loads the
    # base lists here and never needs the client library (~0.1 s of CPU to import)
    import redis

    from nlp_service.store.redis import Keys

ALLOW = "allow"
EDITABLE = (*LIST_CATEGORIES, ALLOW)
MAX_TERM_LENGTH = 50


def read_list(path: Path) -> list[str]:
    """One term per line; blank lines and ``#`` comments skipped."""
    if not path.is_file():
        raise DataFileError(f"word list not found: {path}")
    return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


@lru_cache(maxsize=4)
def base_lists(data_dir: Path) -> dict[str, tuple[str, ...]]:
    folder = data_dir / "moderation"
    return {c: tuple(read_list(folder / f"{c}.txt")) for c in EDITABLE}


@lru_cache(maxsize=4)
def context_rules(data_dir: Path) -> ContextRules:
    """Which listed terms need context to count (base data: not editable per room)."""
    folder = data_dir / "moderation"
    return ContextRules.of(*(read_list(folder / f"{name}.txt") for name in ("mild", "needs_context", "offer_cues", "groups")))


@lru_cache(maxsize=4)
def load_base_lexicon(data_dir: Path) -> Lexicon:
    lists = base_lists(data_dir)
    return Lexicon({c: lists[c] for c in LIST_CATEGORIES}, lists[ALLOW], context_rules(data_dir))


@lru_cache(maxsize=4)
def load_replies(data_dir: Path) -> dict[str, list[str]]:
    """Standard answers (标准话术) per category, from ``data/moderation/replies.yaml``."""
    import yaml  # here, not at the top: `score` loads the word lists and never the answers (~10 ms to import)

    path = data_dir / "moderation" / "replies.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DataFileError(f"cannot read standard answers {path}: {exc}") from None
    return {str(k): [str(x) for x in v] for k, v in data.items()}


def _check(category: str, terms: list[str]) -> list[str]:
    if category not in EDITABLE:
        raise InvalidWordListError(f"unknown word-list category {category!r}; use one of {', '.join(EDITABLE)}")
    clean = [t.strip() for t in terms if t and t.strip()]
    for t in clean:
        if len(t) > MAX_TERM_LENGTH:
            raise InvalidWordListError(f"term {t[:20]!r}… is longer than {MAX_TERM_LENGTH} characters")
    return clean


def change_terms(
    client: redis.Redis, keys: Keys, scope: str, category: str, add: list[str] | None = None, remove: list[str] | None = None
) -> dict[str, int]:
    """Add and/or remove terms of one category for a room or ``global`` (one version bump)."""
    from nlp_service.store.redis import GLOBAL
    from nlp_service.store.version import bump_version

    room = GLOBAL if scope == "global" else scope
    add, remove = _check(category, add or []), _check(category, remove or [])
    pipe = client.pipeline()
    for chunk in _chunks(add):
        pipe.sadd(keys.lexicon_added(room, category), *chunk)
        pipe.srem(keys.lexicon_removed(room, category), *chunk)
    for chunk in _chunks(remove):
        pipe.srem(keys.lexicon_added(room, category), *chunk)
        pipe.sadd(keys.lexicon_removed(room, category), *chunk)
    if room != GLOBAL:
        pipe.sadd(keys.rooms(), room)
    bump_version(pipe, keys)
    pipe.execute()
    return {"added": len(add), "removed": len(remove)}


def _chunks(items: list[str], size: int = 5000):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def scope_changes(client: redis.Redis, keys: Keys, rooms: list[str]) -> dict[str, dict[str, tuple[set, set]]]:
    """{room: {category: (added, removed)}} for each room (``GLOBAL`` included if asked)."""
    pipe = client.pipeline(transaction=False)
    for room in rooms:
        for c in EDITABLE:
            pipe.smembers(keys.lexicon_added(room, c))
            pipe.smembers(keys.lexicon_removed(room, c))
    raw = iter(pipe.execute())
    return {room: {c: (set(next(raw)), set(next(raw))) for c in EDITABLE} for room in rooms}


def effective_lists(data_dir: Path, changes: list[dict[str, tuple[set, set]]]) -> dict[str, set[str]]:
    """Base lists with each scope's changes applied in order (global first, then the room)."""
    lists = {c: set(terms) for c, terms in base_lists(data_dir).items()}
    for scope in changes:
        for c, (added, removed) in scope.items():
            lists[c] = (lists[c] - removed) | added
    return lists


def view_terms(client: redis.Redis, keys: Keys, data_dir: Path, scope: str, category: str, query: str = "", limit: int = 500) -> dict:
    """One list as an operator reads it: the terms in force for ``scope`` (sorted, those
    containing ``query``, at most ``limit``), how many there are, and the scope's own changes."""
    from nlp_service.store.redis import GLOBAL

    _check(category, [])
    room = GLOBAL if scope == "global" else scope
    rooms = [GLOBAL] if room == GLOBAL else [GLOBAL, room]
    changes = scope_changes(client, keys, rooms)
    terms = sorted(t for t in effective_lists(data_dir, [changes[r] for r in rooms])[category] if query in t)
    added, removed = changes[room][category]
    return {"scope": scope, "category": category, "total": len(terms), "terms": terms[:limit], "added": sorted(added), "removed": sorted(removed)}


def build_lexicon(data_dir: Path, changes: list[dict[str, tuple[set, set]]]) -> Lexicon:
    """The room's matcher; the untouched base lexicon is shared when nothing changed."""
    if not any(added or removed for scope in changes for added, removed in scope.values()):
        return load_base_lexicon(data_dir)
    lists = effective_lists(data_dir, changes)
    return Lexicon({c: lists[c] for c in LIST_CATEGORIES}, lists[ALLOW], context_rules(data_dir))
