"""The slot builder (``_speedups.new_slotted``) makes the same instance as the class's own
frozen ``__init__``, for the two classes the comment path builds that way and a toy class."""

from __future__ import annotations

import dataclasses
import gc

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from nlp_service.analysis import Analysis, _new_analysis
from nlp_service.classify.intent import Intent
from nlp_service.classify.sentiment import Sentiment
from nlp_service.core import slots
from nlp_service.core.slots import builder
from nlp_service.text.normalize import Normalized, _new_normalized, normalize


@dataclasses.dataclass(frozen=True, slots=True)
class _Pair:
    left: object
    right: object


def _same(built: object, made: object) -> None:
    assert type(built) is type(made)
    assert built == made and hash(built) == hash(made)
    for f in dataclasses.fields(made):
        assert getattr(built, f.name) is getattr(made, f.name)
    assert gc.is_tracked(built) == gc.is_tracked(made)
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.__setattr__(dataclasses.fields(made)[0].name, None)


@hsettings(max_examples=100, deadline=None)
@given(st.text(max_size=20), st.text(max_size=20), st.lists(st.integers(0, 50), max_size=20), st.lists(st.text(max_size=3), max_size=3))
def test_normalized_built_equals_the_dataclass(original, text, offsets, emojis) -> None:
    values = (original, text, tuple(offsets), tuple(emojis))
    _same(_new_normalized(*values), Normalized(*values))


def test_analysis_built_equals_the_dataclass() -> None:
    values = (normalize("几号链接？"), ("几号", "链接"), Sentiment("neutral", 0.5), Intent("ask_link", 0.9), ("链接",))
    _same(_new_analysis(*values), Analysis(*values))


def test_hit_built_equals_the_dataclass() -> None:
    from nlp_service.moderation.lexicon import Hit, _new_hit

    _same(_new_hit("abuse", "垃圾", 0, 2, "homophone"), Hit("abuse", "垃圾", 0, 2, "homophone"))


def test_a_toy_class_and_refusals() -> None:
    _same(builder(_Pair)(1, "a"), _Pair(1, "a"))
    with pytest.raises(TypeError):
        builder(_Pair)(1)  # one value per field
    with pytest.raises(TypeError):
        builder(Sentiment)  # not a slotted dataclass


def test_without_the_extension_the_builder_is_the_class(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slots, "new_slotted", None)
    assert builder(_Pair) is _Pair


@given(st.sampled_from(["positive", "negative", "neutral", "other"]), st.floats(allow_nan=False))
def test_the_label_tuples_built_by_tuple_new_equal_their_constructors(label, score) -> None:
    from nlp_service.classify.intent import _new_intent
    from nlp_service.classify.sentiment import _new_sentiment

    for built, made in ((_new_sentiment((label, score)), Sentiment(label, score)), (_new_intent((label, score)), Intent(label, score))):
        assert type(built) is type(made) and built == made and built._asdict() == made._asdict()


def test_the_tuple_builder_takes_namedtuples_only() -> None:
    from nlp_service.core.slots import tuple_builder

    with pytest.raises(TypeError):
        tuple_builder(_Pair)  # a dataclass, not a NamedTuple
    with pytest.raises(TypeError):
        tuple_builder(tuple)  # no fields
