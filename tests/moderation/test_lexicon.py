import pytest

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
