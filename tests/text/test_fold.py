"""The group form: near-variants of one text share it; ids, numbers and other texts do not."""

import pytest

from nlp_service.text.fold import group_form
from nlp_service.text.normalize import normalize


def form(text: str) -> str:
    return group_form(text, normalize(text).text)


@pytest.mark.parametrize(
    "variants",
    [
        ["骗子", "骗子😭", "骗子😤", "骗子[发怒]", "骗子!!!", "骗子？？", "騙子", "骗子 骗子", "骗子骗子骗子"],
        ["骗子 钱收了不发货", "骗子 钱收了不发货???", "骗子 钱收了不发货😭", "骗子 钱收了不发货货", "骗子钱收了不发货"],
        ["割韭菜", "割韭菜菜菜", "割韭菜 割韭菜"],
        ["需要的私我", "需要的私我我我"],
        ["V x：mei_0927 ❤ 同款半价", "V x：mei_0927 ❤ 同款半价价价价", "vx:mei_0927同款半价"],
        ["去12315投诉你们", "去12315投诉你们！！！"],
    ],
)
def test_near_variants_share_the_group_form(variants) -> None:
    assert len({form(v) for v in variants}) == 1, {v: form(v) for v in variants}


@pytest.mark.parametrize(
    "a, b",
    [
        ("vx ab1233", "vx ab123"),  # ASCII runs are ids: never folded
        ("加q 3287165", "加q 32871655"),
        ("我电话13812345678", "我电话13812345677"),
        ("骗子", "骗人的"),
        ("别买", "别买了"),
    ],
)
def test_different_texts_keep_different_forms(a, b) -> None:
    assert form(a) != form(b)


def test_a_comment_of_emoji_alone_keeps_its_normalised_text_and_a_lone_code_its_word() -> None:
    assert form("😭😭") == normalize("😭😭").text and form("😭😭") != form("😤")
    assert form("[捂脸]") == "捂脸" and form("[捂脸]") != form("😭")
