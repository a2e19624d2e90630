"""The compiled clean check (``moderation/clean.py``) against the Python it stands in for.

Two guarantees: each question ``clean_comment`` asks gets the answer the Python pieces give
(find_patterns' gates, the lexicon's walks, the classifier's flags, the group names); and
whenever it says clean, ``moderate``'s general path says clean too, so ``moderate`` answers
exactly as it did before the check existed.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from nlp_service.batch import demo
from nlp_service.core.errors import InvalidTextError
from nlp_service.core.speedups import clean_comment
from nlp_service.moderation import clean, detect
from nlp_service.moderation import patterns as P
from nlp_service.moderation.lists import load_base_lexicon
from nlp_service.moderation.readings import latin_words, sounds

pytestmark = pytest.mark.skipif(clean_comment is None, reason="the C build is missing (tests/core/test_speedups.py fails for it)")

# Characters each gate and walk looks at, and a few of every other kind.
_INTERESTING = (
    "0123456789０１９①⑳零〇一幺二两三四五六七八九壹贰叁肆伍陆柒捌玖"
    "abcqvwxzABQVWＡｑ路街道巷弄区栋幢楼室小花公大园寓厦信加微薇威扣企裙群.:/-_ ~*+·"
    "你您妳主播老板黑人河南省市傻逼垃圾辣鸡骗子微信加维信看我主页好的来了宝贝"
    "\u200b\u200d\u00ad😀🎉👍\U00020000ß"
)
texts = st.text(alphabet=st.sampled_from(_INTERESTING) | st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)


def _gated(original: str) -> bool:
    """find_patterns' three gates, as find_patterns asks them: whether they turn the text away."""
    if P._ANY_GATE_CHAR.search(original) is None:
        return True
    if P._FIVE_DIGITISH.match(original) is None and not P._LATIN.search(original) and not P._ADDRESS_WORDS.search(original):
        return True
    return not P._may_hold_a_detail(P._fold_table.translate(original))


def _reference(norm, lexicon, classifier) -> bool:
    """``clean_comment``'s verdict asked of the Python pieces."""
    text = norm.text
    if latin_words(text) or not _gated(norm.original):
        return False
    if lexicon._term_spans(text) or lexicon._sound_spans(sounds(text)):
        return False
    if classifier is None:
        return True
    if classifier.group is not None and lexicon.context.names_a_group(text):
        return False
    return not classifier.flags(text)


def _general(analysis, lexicon, classifier, monkeypatch):
    """``moderate`` without the compiled check (its general path decides every comment)."""
    with monkeypatch.context() as m:
        m.setattr(detect, "surely_clean", lambda *_: False)
        return detect.moderate(analysis, lexicon, classifier=classifier)


def _analyses(analyzer, raw):
    for text in raw:
        try:
            yield analyzer.analyze(text)
        except InvalidTextError:
            continue


@hsettings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts)
def test_each_question_gets_the_python_answer(analyzer, lexicon, model, monkeypatch, text) -> None:
    for analysis in _analyses(analyzer, [text]):
        norm = analysis.normalized
        for classifier in (model, None):
            sure = clean.surely_clean(norm, lexicon, classifier)
            assert sure == _reference(norm, lexicon, classifier), text
            if sure:
                assert _general(analysis, lexicon, classifier, monkeypatch) is detect._CLEAN, text


def test_the_gate_bits_are_the_gates_own_answers() -> None:
    for ch in itertools.chain(_INTERESTING, map(chr, range(0x20, 0x3000, 7)), "\U0001f600\U000e0001"):
        assert P.gate_bits(ord(ch)) & P.GATE_ANY == (P.GATE_ANY if P._ANY_GATE_CHAR.search(ch) else 0)
        assert bool(P.gate_bits(ord(ch)) & P.GATE_DIGIT_FOLDED) == bool(P._DIGIT.match(P._fold_table.translate(ch)))


def test_moderate_answers_as_its_general_path_on_the_demo_archive(tmp_path, analyzer, lexicon, model, monkeypatch) -> None:
    src = tmp_path / "demo.csv"
    demo.write_archive(src, rows=3000, rooms=2)
    import csv

    with src.open(encoding="utf-8") as fh:
        raw = list(dict.fromkeys(r["text"] for r in csv.DictReader(fh)))
    raw += [f"{t} {i}" for i, t in enumerate(raw)]  # the bench's worst case: every text distinct
    sure = 0
    for analysis in _analyses(analyzer, raw):
        fast = detect.moderate(analysis, lexicon, classifier=model)
        assert fast == _general(analysis, lexicon, model, monkeypatch), analysis.text
        sure += clean.surely_clean(analysis.normalized, lexicon, model)
    assert sure > len(raw) // 2  # the check does answer for most comments


def test_without_the_build_every_comment_takes_the_general_path(settings, model, monkeypatch) -> None:
    monkeypatch.setattr(clean, "clean_comment", None)
    lexicon = load_base_lexicon(settings.data_dir)  # a fresh one: no layout made yet
    assert clean.clean_layout(lexicon, model) is None
