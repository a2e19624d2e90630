"""Ordinary phrases that contain a listed string, its sound or its digits are never
blocked, while the harmful form of the same words still is. One family a test, each with
several fixed examples (none of them is an allow-list entry)."""

import pytest

from nlp_service.moderation.detect import moderate


def action(analyzer, lexicon, text: str) -> str:
    return moderate(analyzer.analyze(text), lexicon).action


FAMILIES = {
    # 死我 sounds like 私我: a short homophone counts only as a whole word of the text
    "short homophone across words": ["困死我了", "热死我了今天", "笑死我了哈哈", "饿死我了 主播快上链接"],
    # 思，我 sounds like 私我: never across punctuation or inside a longer word
    "homophone across a clause break": ["有意思，我喜欢", "好有意思，我也要", "没意思，我走了"],
    # 代考 inside 当代|考研, 变态 inside 变态辣
    "inside longer dictionary words": ["当代考研人", "生化8时代考古", "我是当代考研人的代表", "变态辣的鸡翅好吃"],
    # 出生 reads like 畜生, but it is a common word of its own
    "short homophone that is a word of its own": ["出生年月", "填一下出生日期", "我出生在杭州"],
    # naming a kind of personal detail is not giving one
    "personal detail named, none given": ["我的手机号码不方便给", "我手机号换了 能改吗", "身份证要带吗", "收货地址是写公司吗"],
    # 三八 inside a number written in Chinese numerals
    "numerals inside a longer number": ["订单号一三八零零二二四五", "一三八八 是我的尾号吗", "三八二十四"],
    # mild words not aimed at anyone, names of things in game and film talk
    "expletives and topics in chatter": ["这特么是逃生吧", "那把猎枪带不出来吧", "这个boss是个变态 太难打了", "重新定义洗钱"],
    # emoji codes and laughter
    "emoji codes and laughter": ["[捂脸]", "[捂脸][捂脸][666]", "www这也太可爱了", "wwwwww"],
}


@pytest.mark.parametrize(("family", "text"), [(f, t) for f, texts in FAMILIES.items() for t in texts])
def test_ordinary_phrase_is_not_blocked(analyzer, lexicon, family, text) -> None:
    assert action(analyzer, lexicon, text) == "pass", family


@pytest.mark.parametrize(("family", "text"), [(f, t) for f, texts in FAMILIES.items() for t in texts])
def test_ordinary_phrase_is_not_blocked_with_the_trained_models(analyzer, lexicon, model, family, text) -> None:
    # the learned classifier and the group model alone only ever send to review
    assert moderate(analyzer.analyze(text), lexicon, classifier=model).action != "block", family


@pytest.mark.parametrize(
    "text",
    [
        "私我 有福利",  # the listed word itself
        "加威信领福利",  # a three-character homophone
        "我的手机号是13812345678",  # a named detail with the detail
        "身份证 440106198811230031 发你了",  # a long number beside the word, checksum or not
        "你就是个变态",  # a mild word aimed at someone
        "主播特么的会不会说话",
        "卖猎枪 私我",  # a thing beside an offer
        "代考驾照 包过",  # an exact term glued to the next word
    ],
)
def test_harmful_form_is_still_caught(analyzer, lexicon, text) -> None:
    assert action(analyzer, lexicon, text) != "pass"


@pytest.mark.parametrize(("text", "category"), [("假zheng 能过机", "illegal"), ("代开fa票 税点低", "illegal"), ("la圾东西 别买", "complaint"), ("se情 视频", "sexual"), ("假huo 还卖这么贵", "fraud_claim")])
def test_a_term_spelled_partly_in_pinyin_is_caught(analyzer, lexicon, text, category) -> None:
    m = moderate(analyzer.analyze(text), lexicon)
    assert category in m.categories and any(t["how"] == "mixed" for t in m.terms), m


@pytest.mark.parametrize("text", ["bilibili的视频", "up主好帅", "好high啊", "我是lily的粉丝", "这个dna检测准吗", "hhh笑死", "xdm冲"])
def test_latin_words_in_chat_are_no_mixed_spelling(analyzer, lexicon, text) -> None:
    m = moderate(analyzer.analyze(text), lexicon)
    assert not any(t["how"] == "mixed" for t in m.terms), m
