import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from nlp_service.moderation.patterns import find_patterns, valid_id_card


def terms(text: str) -> set[tuple[str, str]]:
    return {(h.category, h.term) for h in find_patterns(text)}


@pytest.mark.parametrize(
    "text",
    ["我电话13812345678", "138 1234 5678", "1-3-8-1-2-3-4-5-6-7-8", "一三八一二三四五六七八", "①③⑧①②③④⑤⑥⑦⑧", "壹叁捌壹贰叁肆伍陆柒捌", "13888888888", "+8613812345678"],
)
def test_phone_numbers_in_every_writing(text) -> None:
    assert ("ad_contact", "phone_number") in terms(text)
    assert ("personal_info", "phone_number") in terms(text)


def test_spans_point_at_the_original_text() -> None:
    text = "加我 一三八 1234 5678 谢谢"
    hit = next(h for h in find_patterns(text) if h.term == "phone_number")
    assert text[hit.start : hit.end] == "一三八 1234 5678"


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("qq 328745612", "qq_number"),
        ("ｑｑ３２８７４５６１２", "qq_number"),
        ("加扣扣3287 4561 2", "qq_number"),
        ("Q 3 8 8 2 9 1 0 0 6", "contact_id"),
        ("vx: abc_123456", "wechat_id"),
        ("威❤ xm0909", "contact_id"),
        ("看 www.xx.cn", "url"),
        ("https://shop.example.com/a?b=1", "url"),
        ("t.cn/abc", "url"),
    ],
)
def test_contact_details(text, term) -> None:
    assert ("ad_contact", term) in terms(text)


def test_id_card_needs_a_valid_checksum() -> None:
    assert valid_id_card("11010519491231002X")
    assert not valid_id_card("110105194912310021")
    assert ("personal_info", "id_card") in terms("身份证11010519491231002X")
    assert ("personal_info", "id_card") not in terms("身份证110105194912310021")


def test_address() -> None:
    assert ("personal_info", "address") in terms("我家住北京市朝阳区建国路88号3栋2单元")


@pytest.mark.parametrize("text", ["160 100斤穿什么码", "1号链接多少钱", "满199减30", "订单号1234567890123", "2件8折", "3号4号都要"])
def test_shopping_numbers_are_not_contact_details(text) -> None:
    assert terms(text) == set()


def _digit_view_reference(original: str):
    """The digit view as first written (a fold per character, a category per character):
    the reference for the translate-table version."""
    import unicodedata

    from nlp_service.moderation.patterns import _DIGIT_GAP, _fold

    text = "".join(_fold(c) for c in original)
    chars, origin = [], []
    for i, ch in enumerate(text):
        if unicodedata.category(ch) in ("Cf", "Cc") and not ch.isspace():
            continue
        if ch in _DIGIT_GAP and chars and chars[-1].isdigit():
            j = i + 1
            while j < len(text) and text[j] in _DIGIT_GAP:
                j += 1
            if j < len(text) and text[j].isdigit():
                continue
        chars.append(ch)
        origin.append(i)
    return "".join(chars), tuple(origin)


_VIEW_ALPHABET = list("0123456789一二三四五六七八九零幺壹贰叁①②③０１２ＡＢａbcQqVv微信加 -_.,/|~*+·\u200b\u200d\t\n\r\x07啊的ﬁ²")


@hsettings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(_VIEW_ALPHABET), max_size=40))
def test_digit_view_equals_the_per_character_reference(text) -> None:
    from nlp_service.moderation.patterns import digit_view

    view = digit_view(text)
    assert (view.text, view.origin) == _digit_view_reference(text)


_GATE_ALPHABET = list("0123456789一三八壹①０１ qvwxQV微薇威扣企鹅裙群号信加路街道小区栋楼室.:/-_·@comwhtps啊好的\u200bＱｖⓠ") + [
    "www.", "://", "https", "qq", "vx", "wx", "weixin", ".com", "小区", "花园", "花\u200b园", ":\u200b//", "大厦", "公寓", "幢",
]  # fmt: skip


def _gates_open(patterns, always):
    """Every gate of find_patterns open: the one search for a gate's character, the
    per-detector ones, eleven digits, and the first test on the folded text."""
    from contextlib import ExitStack
    from unittest import mock

    stack = ExitStack()
    stack.enter_context(mock.patch.object(patterns, "_ANY_GATE_CHAR", mock.Mock(search=lambda _text: True)))
    stack.enter_context(mock.patch.dict(patterns._GATES, always))
    stack.enter_context(mock.patch.object(patterns, "_ELEVEN_DIGITS", mock.Mock(search=lambda _text: True)))
    stack.enter_context(mock.patch.object(patterns, "_may_hold_a_detail", lambda _text: True))
    return stack


@hsettings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_GATE_ALPHABET), max_size=30).map("".join))
def test_the_detector_gates_change_no_hit(text) -> None:
    """Each detector's gate (patterns._GATES, the eleven-digit gate) is a necessary condition:
    with every gate open the hits are the same, on random text built from the detectors'
    prefixes, digits and separators."""

    from nlp_service.moderation import patterns

    gated = patterns.find_patterns(text)
    always = dict.fromkeys(patterns._GATES, lambda _text: True)
    with _gates_open(patterns, always):
        assert patterns.find_patterns(text) == gated


def test_the_detector_gates_change_no_hit_on_the_evaluation_set(settings) -> None:
    import csv

    from nlp_service.moderation import patterns

    with (settings.data_dir / "moderation" / "eval" / "labelled.tsv").open(encoding="utf-8") as fh:
        texts = [r["text"] for r in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)]
    # and every labelled comment, alone and as the archive bench's rows (" <row number>")
    from nlp_service.classify import datasets

    labelled = [t for t, _, _ in datasets.danmaku(settings.labelled_dir)]
    texts += labelled + [f"{t} {10_000 + 37 * i}" for i, t in enumerate(labelled)]
    gated = [patterns.find_patterns(t) for t in texts]
    assert sum(map(bool, gated)) > 10
    always = dict.fromkeys(patterns._GATES, lambda _text: True)
    with _gates_open(patterns, always):
        assert [patterns.find_patterns(t) for t in texts] == gated


@hsettings(max_examples=400, deadline=None)
@given(st.one_of(st.lists(st.sampled_from(_GATE_ALPHABET), max_size=30).map("".join), st.text(max_size=30)))
def test_no_gate_character_means_no_gate_passes(text) -> None:
    """The first search (_ANY_GATE_CHAR) stops only comments the three gates after it stop."""
    from nlp_service.moderation import patterns as p

    if p._ANY_GATE_CHAR.search(text) is None:
        assert len(p._DIGITISH.findall(text)) < 5 and not p._LATIN.search(text) and not p._ADDRESS_WORDS.search(text)


@hsettings(max_examples=600, deadline=None)
@given(st.one_of(st.lists(st.sampled_from(_GATE_ALPHABET + ["八", "①", "\uff13", "٣", "\n", "x"]), max_size=40).map("".join), st.text(max_size=40)))
def test_the_counting_gates_equal_the_counts(text) -> None:
    """_FIVE_DIGITISH and _ELEVEN_DIGITS_ANYWHERE (one match each) say what the counts of
    findall they replaced said: five digit-like characters, eleven digits (any script)."""
    import re

    from nlp_service.moderation import patterns as p

    assert (p._FIVE_DIGITISH.match(text) is not None) == (len(p._DIGITISH.findall(text)) >= 5)
    assert (p._ELEVEN_DIGITS_ANYWHERE.match(text) is not None) == (len(re.findall(r"\d", text)) >= 11)
