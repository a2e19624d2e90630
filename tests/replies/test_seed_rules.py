"""The seed rules against the real analyser: intent fallback, ask_price, and replies that
fit the comment's mood (an upset customer gets an apology, never a cheerful FAQ line)."""

import pytest

from nlp_service.live.services import Services
from nlp_service.live.types import Comment
from nlp_service.replies import store

NOW = 1764072600000
VARIABLES = {"lottery_time": "8点", "coupon_code": "LIVE20", "current_link": "3", "courier": "顺丰", "price": "99元"}
APOLOGY_RULES = {"after_sales", "after_sales_upset"}


@pytest.fixture
def engine(rclient, svc_settings, settings):
    svc = Services.start(svc_settings.model_copy(update={"seed_rules_path": settings.seed_rules_file}), rclient, poll=False)
    store.set_variables(svc.client, svc.keys, "room1", VARIABLES)
    svc.state.refresh()
    yield svc.engine
    svc.close()


def fired(engine, text: str) -> dict | None:
    return engine.dry_run(Comment("d", "room1", "u1", "n1", text, NOW))["fired"]


@pytest.mark.parametrize(("text", "rule"), [("優惠卷在哪裡領", "coupon"), ("到手价多少", "price"), ("什么时候发货", "shipping"), ("还有货吗", "stock")])
def test_questions_get_their_faq_answer(engine, text, rule) -> None:
    got = fired(engine, text)
    assert got is not None and got["rule_id"] == rule


def test_price_uses_the_room_variable(engine) -> None:
    assert "99元" in fired(engine, "多少钱")["would_reply"]


@pytest.mark.parametrize("text", ["都5天了怎么还不发货", "收到的杯子是碎的", "退款怎么还没到账", "我的快递一周了还没到", "东西破损了怎么办", "买了三天还不发货，客服也不回"])
def test_after_sales_problems_get_the_apology_with_the_service_handoff(engine, text) -> None:
    got = fired(engine, text)
    assert got is not None and got["rule_id"] in APOLOGY_RULES, got
    assert "抱歉" in got["would_reply"] and "客服" in got["would_reply"] and "订单号" in got["would_reply"]


@pytest.mark.parametrize("text", ["都5天了怎么还不发货", "发货太慢了气死", "质量太差了退钱", "什么破券根本用不了，气死了", "福袋又是假的吧，烦死了"])
def test_negative_comments_never_get_a_cheerful_faq_line(engine, text) -> None:
    got = fired(engine, text)
    assert got is None or got["rule_id"] in APOLOGY_RULES, got
