import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from nlp_service.moderation.lexicon import Lexicon
from nlp_service.text.normalize import normalize

LISTS = {
    "ad_contact": ["加微信", "微信", "vx", "扣扣", "q群"],
    "abuse": ["傻逼", "sb", "垃圾主播", "滚"],
    "fraud_claim": ["骗子", "假货"],
    "sexual": ["口交"],
}
ALLOW = ["微信支付", "傻傻分不清", "女装", "路口交通", "滚筒"]


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return Lexicon(LISTS, ALLOW)


def found(lexicon: Lexicon, text: str) -> set[tuple[str, str]]:
    return {(h.category, h.term) for h in lexicon.find(normalize(text).text)}


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("加微.信", "加微信"),  # separators
        ("加 微 信", "加微信"),
        ("加❤微信", "加微信"),  # emoji between characters
        ("加威信", "加微信"),  # homophones
        ("加维信", "加微信"),
        ("加ｖｘ", "vx"),  # full-width, case
        ("加VX", "vx"),
        ("騙子", "骗子"),  # traditional
        ("假貨", "假货"),
        ("主播是pianzi", "骗子"),  # pinyin of a listed term
        ("jiahuo吧", "假货"),
        ("你个sb", "sb"),
        ("辣鸡主播", "垃圾主播"),
    ],
)
def test_sees_through_evasion(lexicon, text, term) -> None:
    assert term in {t for _, t in found(lexicon, text)}


@pytest.mark.parametrize("text", ["可以微信支付吗", "傻傻分不清", "女装好看", "路口交通拥堵", "滚筒洗衣机", "usb接口", "笑死我了", "卫星"])
def test_allow_list_and_word_boundaries_prevent_false_hits(lexicon, text) -> None:
    assert found(lexicon, text) == set()


def test_allow_entry_suppresses_only_hits_it_covers(lexicon) -> None:
    assert ("ad_contact", "微信") in found(lexicon, "微信支付 加微信")


def test_hundred_thousand_terms_load_and_match() -> None:
    # how fast they load (the 2 s target) is measured in bench/bench_moderation.py, not here
    terms = {"abuse": [f"词{i}语{i % 97}" for i in range(100_000)]}
    big = Lexicon(terms)
    assert big.size == 100_000
    assert {h.term for h in big.find("这是词123语26吧")} == {"词123语26"}


@pytest.fixture(scope="module")
def base_lexicon(settings) -> Lexicon:
    from nlp_service.moderation.lists import load_base_lexicon

    return load_base_lexicon(settings.data_dir)


def _homophones_reference(lexicon, text: str) -> list:
    """The homophone walk as first written (pypinyin's reading of every character, a trie
    lookup at every position): the reference for the head-character regex and the table."""
    from pypinyin import Style, pinyin

    from nlp_service.moderation.lexicon import HOMOPHONE, Hit
    from nlp_service.moderation.readings import is_cjk

    def sound(ch: str) -> str:
        return pinyin(ch, style=Style.NORMAL)[0][0] if is_cjk(ch) else ""

    out, n, trie = [], len(text), lexicon._trie
    for i in range(n):
        node = trie.get(sound(text[i]))
        j = i
        while node is not None:
            for term, cats in node.get(None, ()):
                written = text[i : j + 1]
                same = sum(a == b for a, b in zip(written, term, strict=True))
                if written != term and 2 * same >= len(term):
                    out.extend(Hit(c, term, i, j + 1, HOMOPHONE) for c in cats)
            j += 1
            if j >= n:
                break
            r = sound(text[j])
            node = node.get(r) if r else None
    return out


def test_the_reading_table_is_pypinyins_reading() -> None:
    from nlp_service.moderation.readings import _pypinyin_reading, reading, reading_table

    table = reading_table()
    assert len(table) == (0x9FFF - 0x4E00 + 1) + (0x4DBF - 0x3400 + 1)
    for ch in "微信威维薇加骗子垃圾辣鸡以的了么㐀龥":
        assert reading(ch) == _pypinyin_reading(ch)
    assert reading("a") == reading("1") == reading("，") == ""


@hsettings(max_examples=300, deadline=None)
@given(st.data())
def test_the_homophone_walk_equals_the_per_character_reference(base_lexicon, data) -> None:
    """With the readings from the start-up table (and the walk's memo of the characters that
    start no term) the hits equal pypinyin's walk from every position, on text of the lists'
    characters, other characters of the same sounds and filler."""
    from nlp_service.moderation.readings import reading, reading_table

    lexicon = base_lexicon
    sounds_of_terms = {reading(c) for t in _terms_of(lexicon._trie) for c in t}
    alike = [ch for ch, r in reading_table().items() if r in sounds_of_terms][::50]
    sounds = sorted({c for t in _terms_of(lexicon._trie) for c in t} | set(alike) | set("的了啊好看 a1，"))
    text = data.draw(st.text(alphabet=st.sampled_from(sounds), max_size=20))
    assert lexicon._homophones(text) == _homophones_reference(lexicon, text)


def _terms_of(node: dict) -> list[str]:
    out = [t for t, _ in node.get(None, ())]
    for key, child in node.items():
        if key is not None:
            out += _terms_of(child)
    return out


def test_the_homophone_walk_equals_the_reference_on_the_evaluation_set(base_lexicon, settings) -> None:
    import csv

    from nlp_service.text.normalize import normalize

    with (settings.data_dir / "moderation" / "eval" / "labelled.tsv").open(encoding="utf-8") as fh:
        texts = [normalize(r["text"]).text for r in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE) if r["text"].strip()]
    found = 0
    for text in texts:
        hits = base_lexicon._homophones(text)
        assert hits == _homophones_reference(base_lexicon, text), text
        found += bool(hits)
    assert found > 5


# The compiled walks (``StrTable.spans`` over the comment for the exact terms, over its
# sounds for the homophones) against what they replaced (still the fallbacks: pyahocorasick
# and the Python walk), and the whole of ``find`` with and without them.

def _python_only(lexicon: Lexicon) -> Lexicon:
    copy = object.__new__(Lexicon)
    copy.__dict__.update(lexicon.__dict__, _sound_spans=None, _term_spans=None, _automaton=None, _heads={})
    return copy


def test_the_compiled_homophone_walk_is_in_use(base_lexicon) -> None:
    assert base_lexicon._sound_spans is not None and base_lexicon._term_spans is not None  # the C build (tests/core/test_speedups.py)


_EVASIONS = ["加威信", "加维信", "加薇信领福利", "辣鸡主播", "垃圾主播", "da麻", "假zheng", "代开fa票", "pianzi", "jiahuo", "加 v 信", "扣扣群", "笑死我了", "私我", "死我了", "usb接口", "你个sb", "sb", "加vx", "vx号", "fa货", "a货"]


@hsettings(max_examples=300, deadline=None)
@given(st.data())
def test_the_compiled_homophone_walk_and_find_equal_the_python_walk(base_lexicon, data) -> None:
    """On text of the lists' characters, other characters of the same sounds, evasions,
    Latin letters and filler: the same hits, in the same order."""
    from nlp_service.moderation.readings import reading, reading_table

    lexicon, python = base_lexicon, _python_only(base_lexicon)
    sounds_of_terms = {reading(c) for t in _terms_of(lexicon._trie) for c in t}
    alike = [ch for ch, r in reading_table().items() if r in sounds_of_terms][::50]
    chars = sorted({c for t in _terms_of(lexicon._trie) for c in t} | set(alike) | set("的了啊好看 a1，dazhengfpinjhuo\ue000\uf8ff"))
    pieces = st.one_of(st.sampled_from(chars), st.sampled_from(_EVASIONS))
    text = "".join(data.draw(st.lists(pieces, max_size=12)))
    assert lexicon._homophones(text) == python._homophones_walk(text) == python._homophones(text)
    assert sorted(lexicon._term_spans(text)) == sorted(python._exact(text))
    assert lexicon.find(text) == python.find(text)


@pytest.mark.parametrize("text", ["usb接口", "你个sb", "sbsb", "加vx", "微信支付 加微信", "加威信", "主播是pianzi", "滚筒", "滚", ""])
def test_find_with_the_small_lists_equals_the_fallbacks(lexicon, text) -> None:
    """Latin edges (sb not inside usb), allow entries and overlaps: the same hits either way."""
    text = normalize(text).text if text else text
    assert lexicon.find(text) == _python_only(lexicon).find(text)


def test_find_equals_the_python_walk_on_every_labelled_and_evaluation_comment(base_lexicon, settings) -> None:
    import csv

    from nlp_service.classify import datasets

    with (settings.data_dir / "moderation" / "eval" / "labelled.tsv").open(encoding="utf-8") as fh:
        raw = [r["text"] for r in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)]
    raw += [t for t, _, _ in datasets.danmaku(settings.labelled_dir)]
    python = _python_only(base_lexicon)
    homophones = 0
    for text in (normalize(t).text for t in raw if t.strip()):
        hits = base_lexicon._homophones(text)
        assert hits == python._homophones_walk(text), text
        assert base_lexicon.find(text) == python.find(text), text
        homophones += bool(hits)
    assert len(raw) > 7000 and homophones > 50


def _latin_word_spans_reference(text: str) -> list:
    """The per-character walk ``latin_words`` and ``syllable_units`` replaced."""
    out, i, n = [], 0, len(text)
    while i < n:
        if "a" <= text[i] <= "z":
            j = i
            while j < n and "a" <= text[j] <= "z":
                j += 1
            out.append((i, j, text[i:j]))
            i = j
        else:
            out.append((i, i + 1, None))
            i += 1
    return out


@hsettings(max_examples=300, deadline=None)
@given(st.text(alphabet=list("dazhengfpiAZ麻假证票开代 1，é"), max_size=16))
def test_latin_words_and_syllable_units_equal_the_per_character_walk(base_lexicon, text) -> None:
    from nlp_service.moderation.readings import (
        latin_words,
        reading,
        split_syllables,
        syllable_units,
    )

    spans = _latin_word_spans_reference(text)
    assert latin_words(text) == [s for s in spans if s[2] is not None]
    units = []
    for start, end, word in spans:
        if word is None:
            r = reading(text[start])
            units.append((r or None, start, end, text[start] if r else None, -1))
            continue
        parts = split_syllables(word, base_lexicon._syllables) if len(word) <= 24 else None
        units.extend([(None, start, end, None, -1)] if parts is None else [(p, start, end, None, end) for p in parts])
    assert syllable_units(text, base_lexicon._syllables) == units


def test_sounds_keep_positions_and_rare_code_points_are_not_kept() -> None:
    from nlp_service.moderation import readings

    text = "加威微信a1，\U0001f600\ue000"
    out = readings.sounds(text)
    assert len(out) == len(text)
    assert out[1] == out[2] != out[0]  # 威 and 微 both read wei
    assert out[4:] == readings._NO_SOUND * 5  # no reading: one breaker, user-typed private use too
    kept = len(readings._sound_table)
    readings.sounds("\U0001f601\U0001f602\U00020001" * 3)
    assert len(readings._sound_table) == kept
