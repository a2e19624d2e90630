"""``nlp_service.moderate(text)``: the moderation result without a server.

The same answer as ``POST /v1/moderate`` (the same analysis, lists and standard answers),
so notebooks, the eval and the benches need no HTTP round trip. With ``room``, the room's
run-time list changes are read from the configured Redis (``REDIS_URL``, or the embedded
server the service uses), exactly as an instance builds them.
"""

from __future__ import annotations

from nlp_service.analysis import get_analyzer
from nlp_service.core.config import Settings
from nlp_service.moderation.classifier import load as load_classifier
from nlp_service.moderation.detect import moderate as moderate_analysis
from nlp_service.moderation.lexicon import Lexicon
from nlp_service.moderation.lists import (
    build_lexicon,
    load_base_lexicon,
    load_replies,
    scope_changes,
)


def _room_lexicon(room: str, settings: Settings) -> Lexicon:
    from nlp_service.store.redis import GLOBAL, Keys, connect

    client = connect(settings)
    keys = Keys(settings.key_prefix)
    changes = scope_changes(client, keys, [GLOBAL, room])
    return build_lexicon(settings.data_dir, [changes[GLOBAL], changes[room]])


def moderate(text: str, room: str | None = None) -> dict:
    """Moderate one comment: ``{"room", "action", "categories", "terms", "score",
    "suggested_reply"}``. ``room=None`` (or ``"global"``) uses the base lists. Raises an
    ``InvalidTextError`` subclass for unusable input (empty, too long, not text)."""
    analyzer = get_analyzer()
    settings = analyzer.settings
    analysis = analyzer.analyze(text)
    scope = room or "global"
    lexicon = load_base_lexicon(settings.data_dir) if scope == "global" else _room_lexicon(scope, settings)
    result = moderate_analysis(analysis, lexicon, load_replies(settings.data_dir), classifier=load_classifier(settings.models_dir))
    return {"room": scope, **result.to_dict(full=True)}
