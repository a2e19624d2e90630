import pytest
from hypothesis import given
from hypothesis import strategies as st

from nlp_service.core.errors import (
    EmptyTextError,
    InvalidEncodingError,
    NotTextError,
    TextTooLongError,
)
from nlp_service.text.normalize import check_text, normalize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("加微.信", "加微信"),
        ("微 信", "微信"),
        ("微-信", "微信"),
        ("微_信", "微信"),
        ("微·信", "微信"),
        ("加❤微", "加微"),
        ("ｗｘ１２３", "wx123"),
        ("ＶＸ", "vx"),
        ("V信", "v信"),
        ("騙子假貨", "骗子假货"),
        ("發貨太慢", "发货太慢"),
        ("v\u200bx", "vx"),
        ("微\u200d信", "微信"),
        ("好\x00看\x07", "好看"),
        ("哈哈哈哈哈哈", "哈哈哈"),
        ("66666", "666"),
        ("!!!!!!", "!!!"),
        ("  主播  晚上好  ", "主播晚上好"),
        ("160 100斤", "160 100斤"),
    ],
)
def test_matching_form(raw: str, expected: str) -> None:
    assert normalize(raw).text == expected


def test_question_marks_are_not_filler() -> None:
    assert normalize("几号链接？？").text == "几号链接??"
    assert normalize("有货吗?还有吗").text == "有货吗?还有吗"


def test_emoji_are_kept_as_signals() -> None:
    n = normalize("好看👍👍")
    assert n.text == "好看👍👍"
    assert n.emojis == ("👍", "👍")
    sandwiched = normalize("加❤️微")
    assert sandwiched.text == "加微" and sandwiched.emojis == ("❤",)


def test_offsets_map_back_to_the_original() -> None:
    n = normalize("加 微.信 领券")
    start = n.text.index("微信")
    assert n.to_original_span(start, start + 2) == (2, 5)
    assert n.original_slice(start, start + 2) == "微.信"
    assert n.original == "加 微.信 领券"


def test_traditional_span_points_at_original_characters() -> None:
    n = normalize("這是騙子！")
    i = n.text.index("骗子")
    assert n.original_slice(i, i + 2) == "騙子"


def test_span_outside_text_is_an_error() -> None:
    with pytest.raises(ValueError, match="outside"):
        normalize("好").to_original_span(0, 5)


@pytest.mark.parametrize("raw", ["", "   ", "\n\t", "\u200b\u200b", "\x00\x01"])
def test_empty_after_cleaning_is_a_named_error(raw: str) -> None:
    with pytest.raises(EmptyTextError, match="empty"):
        normalize(raw)


def test_unpaired_surrogate_is_an_encoding_error() -> None:
    with pytest.raises(InvalidEncodingError, match="surrogate"):
        normalize("好\ud800看")


def test_check_text_accepts_utf8_bytes_and_rejects_others() -> None:
    assert check_text("好看".encode(), 10) == "好看"
    with pytest.raises(InvalidEncodingError, match="UTF-8"):
        check_text(b"\xff\xfe\x00", 10)
    with pytest.raises(NotTextError, match="int"):
        check_text(42, 10)
    with pytest.raises(NotTextError, match="NoneType"):
        check_text(None, 10)
    with pytest.raises(TextTooLongError, match="limit is 10"):
        check_text("好" * 11, 10)


def test_pure_digits_latin_and_mixed_scripts() -> None:
    assert normalize("111").text == "111"
    assert normalize("Hello World").text == "hello world"
    assert normalize("яблоко 苹果 ok").text == "яблоко苹果ok"


text_without_surrogates = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)


@given(text_without_surrogates)
def test_normalize_never_crashes_and_offsets_are_consistent(raw: str) -> None:
    try:
        n = normalize(raw)
    except EmptyTextError:
        return
    assert len(n.offsets) == len(n.text)
    assert all(0 <= o < len(raw) for o in n.offsets)
    assert list(n.offsets) == sorted(n.offsets)
    assert n.original == raw


# words of simple characters (CJK, traditional, latin, digits, full-width forms, laughter runs)
# and, mixed in, characters that take the full path (punctuation, emoji, tabs)
_SPACED = st.text(alphabet=st.sampled_from(list("  哈哈微信好看呀騙子ABcd12３４ｗｘ①") + ["\t", "，", "?", "👍", "\u200b", "ß", "İ", "ﬁ", "½"]), max_size=30)


@given(_SPACED)
def test_the_spaced_fast_path_equals_the_full_normaliser(raw: str) -> None:
    from nlp_service.text.normalize import _normalize_full, _normalize_spaced

    fast = _normalize_spaced(raw)
    if fast is not None:
        assert fast == _normalize_full(raw)


def test_the_spaced_fast_path_takes_spaced_words_and_leaves_the_rest() -> None:
    from nlp_service.text.normalize import _normalize_full, _normalize_spaced

    for raw in ("好 看 呀", "  vx 123  ", "这件 衣服 12345", "微    信", "ab  cd"):
        assert _normalize_spaced(raw) == _normalize_full(raw), raw
    assert _normalize_spaced("微 信").text == "微信" and _normalize_spaced("ab  cd").text == "ab cd"
    for raw in ("哈哈 哈哈", "好，看", "   ", "好 👍", "a\tb"):  # a run to compress, other separators, nothing left
        assert _normalize_spaced(raw) is None, raw


def _either(fn, raw: str):
    """The result of ``fn(raw)``, or the type and message of the error it raised."""
    try:
        return fn(raw)
    except (EmptyTextError, InvalidEncodingError) as exc:
        return type(exc), str(exc)


# separators, emoji, runs, punctuation and expansions (NFKC ㍿ → 株式会社) among the words
_EVASIVE = st.text(alphabet=st.sampled_from(list("  哈哈微信加好看騙子vxABc12３①.-_·，。?!！？❤👍~") + ["\t", "\n", "\u200b", "\ufe0f", "\U0001f3fb", "ß", "İ", "ﬁ", "½", "㍿", "\x00"]), max_size=40)


@given(st.one_of(st.text(max_size=60), _EVASIVE))
def test_the_compiled_normaliser_equals_the_python_one(raw: str) -> None:
    """The C passes (``normalize_plans``), on random Unicode (surrogates included) and on
    evasion-like text: the same matching form, offsets and emojis, or the same error."""
    from nlp_service.core.speedups import normalize_plans
    from nlp_service.text.normalize import _normalize_c, _normalize_full

    assert normalize_plans is not None, "the C extension is not built (pip install -e .)"
    assert _either(_normalize_c, raw) == _either(_normalize_full, raw)


def test_the_compiled_normaliser_equals_the_python_one_on_the_projects_comments(settings) -> None:
    """Every labelled comment and every comment of the moderation evaluation set."""
    import csv

    from nlp_service.classify import datasets
    from nlp_service.text.normalize import _normalize_c, _normalize_full

    texts = [t for t, _, _ in datasets.danmaku(settings.labelled_dir)]
    with (settings.data_dir / "moderation" / "eval" / "labelled.tsv").open(encoding="utf-8") as fh:
        texts += [r["text"] for r in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)]
    assert len(texts) > 1000
    for raw in texts:
        assert _either(_normalize_c, raw) == _either(_normalize_full, raw), raw
