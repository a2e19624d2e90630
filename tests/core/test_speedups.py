"""The compiled inner loops (nlp_service/core/_speedups.c) equal the Python they replaced.

Each compiled call is checked against its pure-Python formulation (kept in the code as the
fallback) on every labelled comment, on the moderation evaluation set and on random input.
"""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from nlp_service.classify import datasets
from nlp_service.text.normalize import normalize
from nlp_service.text.segment import FastSegmenter, get_segmenter, prefix_table


def test_the_extension_is_built() -> None:
    # pip install (editable or wheel) compiles it with setup.py; if this fails, the service
    # still runs on the Python fallback, only slower: install a C compiler and reinstall
    from nlp_service.core import _speedups

    assert hasattr(_speedups, "StrTable") and hasattr(_speedups, "row_sums")
    assert get_segmenter().compiled


_ALPHABET = list("的一是了我不人在他有这个上们来到时大地为子中你说生国年着就那和要她出也得里后自以会家可下而过天去能对小多然于心学么之都好看链接福袋抽奖优惠券abcXYZ019 .,!?+#&%-_😀𠀀")


@hsettings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(alphabet=_ALPHABET, min_size=1, max_size=6), st.one_of(st.none(), st.floats(allow_nan=False)), max_size=30),
       st.lists(st.text(alphabet=_ALPHABET, max_size=6), max_size=10))  # fmt: skip
def test_str_table_answers_like_the_dict(mapping, probes) -> None:
    from nlp_service.core._speedups import StrTable

    table = StrTable(mapping)
    assert len(table) == len(mapping)
    missing = object()
    for key in [*mapping, *probes]:
        expected = mapping.get(key, missing) if key else missing  # an empty key is never stored
        assert table.get(key, missing) == expected or (expected is None and table.get(key, missing) is None)
        assert (key in table) == (expected is not missing)


@hsettings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(alphabet=_ALPHABET, min_size=1, max_size=6), st.one_of(st.none(), st.floats(allow_nan=False)), max_size=30),
       st.lists(st.text(alphabet=_ALPHABET, max_size=6), max_size=10))  # fmt: skip
def test_str_table_read_in_place_from_its_dump_answers_like_the_original(mapping, probes) -> None:
    from nlp_service.core._speedups import StrTable

    table = StrTable(mapping)
    mapped = StrTable.frombuffer(memoryview(b"\0" * 8 + table.dump())[8:])  # an aligned view into a larger buffer, as from an mmap
    assert len(mapped) == len(table) and mapped.dump() == table.dump()
    missing = object()
    for key in [*mapping, *probes]:
        assert mapped.get(key, missing) == table.get(key, missing) or mapped.get(key, missing) is table.get(key, missing)
        assert (key in mapped) == (key in table)
        assert mapped.words(key + "上链接", -12.5) == table.words(key + "上链接", -12.5)
        assert mapped.spans(key) == table.spans(key)


def test_str_table_refuses_a_damaged_dump() -> None:
    from nlp_service.core._speedups import StrTable

    dump = StrTable({"上链接": 1.0, "上": None, "福袋": 2.0}).dump()
    cut_short, wrong_magic = dump[:-4], b"X" + dump[1:]
    bad_slot = bytearray(dump)
    bad_slot[48:52] = (999).to_bytes(4, "little")  # the first slot names an entry that is not there
    bad_entry = bytearray(dump)
    slots = int.from_bytes(dump[16:24], "little") * 4
    bad_entry[48 + slots + 8 : 48 + slots + 12] = (10**6).to_bytes(4, "little")  # the first key starts past the pool
    for damaged in (cut_short, wrong_magic, bytes(bad_slot), bytes(bad_entry), b"", memoryview(b"\0" + dump)[1:]):
        with pytest.raises(ValueError, match="not a StrTable dump"):
            StrTable.frombuffer(damaged)


@pytest.fixture(scope="module")
def python_segmenter() -> FastSegmenter:
    seg = get_segmenter()
    prefixes, unknown = prefix_table(seg.tokenizer)
    return FastSegmenter(prefixes, unknown, lambda: seg.tokenizer, compiled=False)


def test_compiled_segmentation_equals_the_python_loop_on_every_labelled_comment(settings, python_segmenter) -> None:
    seg = get_segmenter(settings)
    texts = [normalize(t).text for t, _, _ in datasets.danmaku(settings.labelled_dir)]
    assert not python_segmenter.compiled and seg.compiled
    assert [t for t in texts if list(seg.cut(t)) != list(python_segmenter.cut(t))] == []


@hsettings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(_ALPHABET), max_size=60))
def test_compiled_segmentation_equals_the_python_loop_on_random_strings(python_segmenter, text) -> None:
    seg = get_segmenter()
    assert list(seg.cut(text)) == list(python_segmenter.cut(text)) == list(seg.tokenizer.cut(text, HMM=False))


@hsettings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from([*_ALPHABET, "\t", "\r", "\n", "\u3000", "，", "。", "～", "\u200b"]), max_size=60))
def test_compiled_words_equal_the_cut_without_whitespace(python_segmenter, text) -> None:
    seg = get_segmenter()
    expected = [w for w in seg.tokenizer.cut(text, HMM=False) if not w.isspace()]
    assert seg.words(text) == python_segmenter.words(text) == expected


def test_word_frequencies_read_from_the_c_table_equal_jieba(python_segmenter) -> None:
    seg = get_segmenter()
    words = list(seg.tokenizer.FREQ)[::50] + ["不存在的词语", "出生", "威信"]
    assert [seg.frequency(w) for w in words] == [python_segmenter.frequency(w) for w in words]


@hsettings(max_examples=100, deadline=None)
@given(st.integers(1, 40), st.integers(1, 25), st.data())
def test_row_sums_equal_numpy(n_rows, n_cols, data) -> None:
    from nlp_service.core._speedups import row_sums

    rng = np.random.default_rng(n_rows * 100 + n_cols)
    matrix = np.ascontiguousarray(rng.normal(size=(n_rows, n_cols)))
    rows = data.draw(st.lists(st.integers(0, n_rows - 1), max_size=30, unique=True))
    tfs = [1.0 + math.log(c) for c in data.draw(st.lists(st.integers(1, 9), min_size=len(rows), max_size=len(rows)))]
    np.testing.assert_allclose(row_sums(matrix, rows), matrix[rows].sum(axis=0) if rows else np.zeros(n_cols), rtol=1e-12, atol=1e-12)
    lin, sq = row_sums(matrix, rows, tfs)
    w = np.array(tfs)
    np.testing.assert_allclose(lin, (w[:, None] * matrix[rows]).sum(axis=0) if rows else np.zeros(n_cols), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(sq, ((w**2)[:, None] * matrix[rows]).sum(axis=0) if rows else np.zeros(n_cols), rtol=1e-12, atol=1e-12)


def test_row_sums_refuse_bad_input() -> None:
    from nlp_service.core._speedups import row_sums

    with pytest.raises(IndexError):
        row_sums(np.zeros((2, 3)), [2])
    with pytest.raises(TypeError):
        row_sums(np.zeros((2, 3), dtype=np.float32), [0])
    with pytest.raises(ValueError):
        row_sums(np.zeros((2, 3)), [0, 1], [1.0])


def test_fused_scores_from_the_c_sums_give_the_same_labels(analyzer, settings) -> None:
    """Every labelled comment: the C counts (in the same order) and probabilities equal the
    Python ones, and so do the labels."""
    scorer = analyzer.scorer
    for text, _, _ in datasets.danmaku(settings.labelled_dir):
        norm = normalize(text)
        tokens = [w for w in analyzer.segmenter.cut(norm.text) if not w.isspace()]
        counts = scorer.count_comment(norm.text, tokens, norm.emojis)
        assert list(counts.items()) == list(scorer.count_comment_py(norm.text, tokens, norm.emojis).items())
        fast, slow = scorer.predict_counts(counts), scorer.predict_counts_py(counts)
        for name in fast:
            np.testing.assert_allclose(fast[name], slow[name], rtol=0, atol=1e-12)
        assert analyzer.intent_model.decide(fast["intent"]) == analyzer.intent_model.decide(slow["intent"])
        sm = analyzer.sentiment_model
        assert sm.decide(fast["subjectivity"], fast["polarity"]) == sm.decide(slow["subjectivity"], slow["polarity"])
        assert scorer.comment_probs(norm.text, tokens, norm.emojis) == fast  # the one-call path: bit for bit


@hsettings(max_examples=300, deadline=None)
@given(st.text(alphabet=_ALPHABET + list("哈哈哈好好好👍👍没别很，。"), max_size=80))
def test_the_one_call_scoring_equals_counts_then_scores(analyzer, text) -> None:
    """comment_probs (the walk, the counts and the sums in one C call) equals count_comment
    then predict_counts exactly, repeats (tf > 1) and long texts included."""
    from nlp_service.core.errors import EmptyTextError

    scorer = analyzer.scorer
    try:
        norm = normalize(text)
    except EmptyTextError:
        return
    tokens = analyzer.segmenter.words(norm.text)
    expected = scorer.predict_counts(scorer.count_comment(norm.text, tokens, norm.emojis))
    assert scorer.comment_probs(norm.text, tokens, norm.emojis) == expected
    slow = scorer.predict_counts_py(scorer.count_comment_py(norm.text, tokens, norm.emojis))
    for name, probs in slow.items():
        np.testing.assert_allclose(expected[name], probs, rtol=0, atol=1e-12)


def test_negated_token_indices_are_checked(analyzer) -> None:
    """The C walk reads the negated tokens by index: a bad index is an error, never a read
    past the tokens."""
    table = analyzer.scorer._table
    with pytest.raises(IndexError):
        table.count_features("不好", ["不", "好"], (), -1, (2,))
    with pytest.raises(TypeError):
        table.count_features("不好", ["不", "好"], (), -1, ("1",))
    assert table.count_features("不好", ["不", "好"], (), -1, ()) == table.count_features("不好", ["不", "好"], (), -1)


def test_moderation_rows_and_flags_from_c_equal_the_python_walk(settings) -> None:
    from nlp_service.moderation.classifier import load
    from nlp_service.moderation.lists import load_base_lexicon
    from nlp_service.moderation.patterns import find_patterns

    model = load(settings.models_dir)
    assert model is not None, "models/moderation.weights.npz is missing: run nlp-service train"
    lexicon = load_base_lexicon(settings.data_dir)
    with (settings.data_dir / "moderation" / "eval" / "labelled.tsv").open(encoding="utf-8") as fh:
        texts = [r["text"] for r in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE) if r["text"].strip()]
    texts += ["看 我 主 页", "加 v x 123456", "😀😀", "a"]
    flagged = 0
    for text in texts:
        norm = normalize(text)
        hits = [*lexicon.find(norm.text), *find_patterns(norm.original)]
        rows = model.rows_of(norm.text, hits)
        assert len(rows) == len(set(rows))
        assert set(rows) == set(model.rows_of_py(norm.text, hits))
        flags = model.flags(norm.text, hits)
        expected = model.flags_py(norm.text, hits)
        assert list(flags) == list(expected)  # the same categories, in the same order
        np.testing.assert_allclose(list(flags.values()), list(expected.values()), rtol=1e-12)
        flagged += bool(flags)
    assert flagged > 50  # the set exercises the flagged branch, not only clean comments


@hsettings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(alphabet="abcd", min_size=1, max_size=4), st.integers(0, 99), max_size=20), st.text(alphabet="abcde", max_size=12))
def test_str_table_spans_are_every_keyed_substring_reached_through_prefixes(words, text) -> None:
    """spans(text) = each substring that is a key with a value and whose every prefix is a
    key (a value or None), by start then end: what a trie walk from each position finds."""
    from nlp_service.core._speedups import StrTable

    keys: dict = {w[:n]: None for w in words for n in range(1, len(w))}
    keys.update((w, float(v)) for w, v in words.items())
    expected = [
        (i, j, int(keys[text[i:j]]))
        for i in range(len(text))
        for j in range(i + 1, len(text) + 1)
        if all(text[i:k] in keys for k in range(i + 1, j + 1)) and keys[text[i:j]] is not None
    ]
    assert StrTable(keys).spans(text) == expected


_PROB = st.one_of(st.floats(0.0, 1.0), st.integers(0, 2**12).map(lambda k: k / 2**12))  # k/2^12: exact ties at the 4th decimal


@hsettings(max_examples=500, deadline=None)
@given(_PROB, _PROB, st.data())
def test_the_c_decisions_equal_the_models_decide(analyzer, s, p, data) -> None:
    """_speedups.decide (both decisions, round(x, 4) included) gives the models' answers, bit
    for bit and of the same types, on exact decimal ties as on any probability."""
    from nlp_service.core.speedups import decide

    sm, im = analyzer.sentiment_model, analyzer.intent_model
    subjectivity = [1.0 - s, s] if sm._opinion == 1 else [s, 1.0 - s]
    polarity = [1.0 - p, p] if sm._pos == 1 else [p, 1.0 - p]
    intent = data.draw(st.lists(_PROB, min_size=len(im.classes), max_size=len(im.classes)))
    sentiment, decided = decide(subjectivity, polarity, intent, analyzer._decide_layout)
    expected = sm.decide(subjectivity, polarity), im.decide(intent)
    assert (sentiment, decided) == expected
    assert (type(sentiment), type(decided)) == (type(expected[0]), type(expected[1]))
    assert repr((sentiment.score, decided.confidence)) == repr((expected[0].score, expected[1].confidence))  # -0.0 and 0.0 apart


@hsettings(max_examples=2000)
@given(st.one_of(st.floats(0, 1), st.floats(allow_nan=False), st.integers(-(10**9), 10**9).map(lambda k: (k + 0.5) / 10_000)))
def test_the_c_rounding_is_pythons_round_to_four_places(x) -> None:
    """decide's round(x, 4) in C: its quick path (away from a tie) and its string path (ties,
    large numbers) give Python's double, the sign of a zero included."""
    from nlp_service.core import _speedups

    got, want = _speedups.round4(x), round(x, 4)
    assert got == want and math.copysign(1.0, got) == math.copysign(1.0, want)


def test_the_analyzer_decides_in_c_as_the_models_do(analyzer, settings) -> None:
    """Every labelled comment: the analysis (C decisions) carries the models' own decisions."""
    for text, _, _ in datasets.danmaku(settings.labelled_dir):
        a = analyzer.analyze_uncached(text)
        probs = analyzer.scorer.comment_probs(a.normalized.text, list(a.tokens), a.normalized.emojis)
        assert a.sentiment == analyzer.sentiment_model.decide(probs["subjectivity"], probs["polarity"])
        assert a.intent == analyzer.intent_model.decide(probs["intent"])


_KEYWORD_TOKENS = st.lists(st.sampled_from(["好看", "质量", "的", "了", "我们", "12", "!!", "a", "链接", "ab", "主播", "衣服", "好看吗", "xyz"])
                           | st.text(alphabet="好质量链接衣服ab1", min_size=1, max_size=3), max_size=90)  # fmt: skip


@hsettings(max_examples=400, deadline=None)
@given(_KEYWORD_TOKENS, st.integers(-2, 7), st.booleans())
def test_keyword_ranking_in_c_equals_the_python_walk(analyzer, tokens, top_k, small) -> None:
    """comment_keywords (C) equals comment_keywords_py: repeats, ties (several unknown words
    share the median weight), stop words, more than the C walk's 64 candidates, any top_k,
    jieba's IDF table (compiled) or a dict; and both fill the seen-token weights alike."""
    from dataclasses import replace

    from nlp_service.text.keywords import KeywordTables, comment_keywords, comment_keywords_py

    base = KeywordTables({"好看": 3.0, "质量": 3.0, "链接": 1.5}, 3.0, frozenset({"我们", "的"})) if small else analyzer.keyword_tables
    fast, slow = replace(base, weights={}), replace(base, weights={})
    assert comment_keywords(tokens, top_k, fast) == comment_keywords_py(tokens, top_k, slow)
    assert fast.weights == slow.weights
    assert comment_keywords(tokens, top_k, fast) == comment_keywords_py(tokens, top_k, slow)  # the weights now seen
    many = [f"词{i}" for i in range(70)] + tokens
    assert comment_keywords(many, top_k, fast) == comment_keywords_py(many, top_k, slow)
    assert comment_keywords(iter(many), top_k, fast) == comment_keywords_py(many, top_k, slow)


def _fused_reference(scorer, counts: dict[int, int]) -> list[list[float]]:
    """score_rows' arithmetic in plain Python floats, every column's squared sum included
    (as the C walk summed them before it kept only the idf² columns'), in the same order."""
    import math

    n_cols = scorer.matrix.shape[1]
    lin, sq = [0.0] * n_cols, [0.0] * n_cols
    for r, c in counts.items():
        tf = 1.0 + math.log(c) if scorer._sublinear_tf else float(c)
        tf2 = tf * tf
        for k, v in enumerate(scorer.matrix[r].tolist()):
            lin[k] += tf * v
            sq[k] += tf2 * v
    out = []
    for sq_col, first, width, biases, binary in scorer._c_layout:
        norm2 = sq[sq_col]
        inv = 0.0 if norm2 <= 0.0 else 1.0 / math.sqrt(norm2)
        z = [b if norm2 <= 0.0 else lin[first + k] * inv + b for k, b in zip(range(width), biases, strict=True)]
        if binary:
            p = 1.0 / (1.0 + math.exp(-z[0]))
            out.append([1.0 - p, p])
            continue
        e = [math.exp(v - max(z)) for v in z]
        total = 0.0
        for v in e:
            total += v
        out.append([v / total for v in e])
    return out


def test_the_c_sums_equal_every_column_summed_in_order(analyzer, settings) -> None:
    """The C scoring sums tf²·row only at the idf² columns: bit for bit what summing every
    column gave, on every labelled comment and with repeated features (tf > 1)."""
    scorer = analyzer.scorer
    texts = [t for t, _, _ in datasets.danmaku(settings.labelled_dir)]
    for text in texts + [t * 3 for t in texts[:300]] + [f"{t} {10_000 + i}" for i, t in enumerate(texts[:300])]:
        norm = normalize(text)
        tokens = analyzer.segmenter.words(norm.text)
        counts = scorer.count_comment(norm.text, tokens, norm.emojis)
        expected = _fused_reference(scorer, counts)
        assert list(scorer.comment_probs(norm.text, tokens, norm.emojis).values()) == expected
        assert list(scorer.predict_counts(counts).values()) == expected
