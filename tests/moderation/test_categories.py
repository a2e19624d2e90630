"""Every list-based category, in plain form and in at least five evasion forms."""

import pytest

from nlp_service.moderation.detect import moderate

ZW = "\u200b"
CASES = {
    "abuse": ("主播就是个傻逼", ["主播就是个傻.逼", "主播就是个傻 逼", "主播就是个傻❤逼", "主播就是个傻" + ZW + "逼", "主播sb", "辣鸡主播", "主播 SB"]),
    "sexual": ("想约炮吗", ["想约.炮吗", "想约 炮吗", "想约❤炮吗", "想約炮嗎", "想约" + ZW + "炮吗", "yuepao吗"]),
    "ad_contact": ("加微信领福利", ["加微.信领福利", "加薇信领福利", "加威信领福利", "加ＶＸ领福利", "加❤微信领福利", "加 v 信领福利", "扣扣3287456121"]),
    "illegal": ("网赌日赚过千", ["网.赌日赚过千", "网 赌日赚过千", "網賭日赚过千", "网❤赌日赚过千", "wangdu日赚过千", "网" + ZW + "赌日赚过千"]),
    "personal_info": ("我电话13812345678", ["我电话一三八一二三四五六七八", "我电话①③⑧①②③④⑤⑥⑦⑧", "我电话壹叁捌壹贰叁肆伍陆柒捌", "我电话138 1234 5678", "我电话1-3-8-1-2-3-4-5-6-7-8", "身份证11010519491231002X"]),
    "fraud_claim": ("你们是骗子 卖假货", ["你们是騙子", "你们卖假貨", "你们是pianzi", "你们是骗.子", "你们是骗 子", "卖jiahuo"]),
    "complaint": ("大家避雷 千万别买", ["大家避.雷 千万别买", "大家避 雷", "大家避❤雷", "千万別買", "大家避" + ZW + "雷", "垃圾店 别买", "辣鸡店铺"]),
}


def cases():
    for category, (plain, evasions) in CASES.items():
        assert len(evasions) >= 5
        yield pytest.param(category, plain, id=f"{category}-plain")
        for i, text in enumerate(evasions):
            yield pytest.param(category, text, id=f"{category}-evasion{i}")


@pytest.mark.parametrize(("category", "text"), list(cases()))
def test_category_found_through_evasion(analyzer, lexicon, category, text) -> None:
    m = moderate(analyzer.analyze(text), lexicon)
    assert category in m.categories, (text, m)
    assert m.action in ("review", "block")
