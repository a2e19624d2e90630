"""Moderation decisions on analysed comments, and the controversy thresholds on held-out data."""

from collections import Counter

import pytest

from nlp_service.classify import datasets
from nlp_service.moderation.detect import moderate
from nlp_service.moderation.lists import load_base_lexicon, load_replies


@pytest.fixture(scope="module")
def lexicon(settings):
    return load_base_lexicon(settings.data_dir)


@pytest.fixture(scope="module")
def replies(settings):
    return load_replies(settings.data_dir)


def mod(analyzer, lexicon, replies, text):
    return moderate(analyzer.analyze(text), lexicon, replies)


@pytest.mark.parametrize(
    ("text", "action", "category"),
    [
        ("加薇信领福利", "block", "ad_contact"),
        ("加我 一三八 1234 5678", "block", "ad_contact"),
        ("主播就是个傻逼", "block", "abuse"),
        ("你们卖假貨 騙子", "review", "fraud_claim"),
        ("网赌日赚过千", "block", "illegal"),
        ("质量太差了 大家避雷 千万别买", "review", "complaint"),
    ],
)
def test_actions_and_categories(analyzer, lexicon, replies, text, action, category) -> None:
    m = mod(analyzer, lexicon, replies, text)
    assert m.action == action and category in m.categories
    for t in m.terms:  # spans point at the ORIGINAL text
        assert text[t["start"] : t["end"]] == t["text"]


def test_review_items_get_a_standard_answer(analyzer, lexicon, replies) -> None:
    m = mod(analyzer, lexicon, replies, "骗子 卖假货")
    assert m.suggested_reply and m.suggested_reply in replies["fraud_claim"]


@pytest.mark.parametrize("text", ["几号链接", "主播好美", "笑死我了", "傻傻分不清哪个好", "可以用微信支付吗", "女装有S码吗", "160 100斤穿什么码", "xdm冲"])
def test_ordinary_comments_pass(analyzer, lexicon, replies, text) -> None:
    assert mod(analyzer, lexicon, replies, text).action == "pass"


@pytest.mark.parametrize("text", ["杯子收到就裂了咋办", "下单一周了还没发", "退款到现在还没到", "都5天了怎么还不发货", "质量太差了 一洗就掉色", "等了半个月还没到 气死了"])
def test_after_sales_problems_are_not_queued(analyzer, lexicon, replies, text) -> None:
    """An after-sales problem, however negative, is answered by the bot, not queued."""
    assert mod(analyzer, lexicon, replies, text).action == "pass"


@pytest.mark.parametrize("text", ["垃圾店 大家别买", "姐妹们避雷这家", "大家去举报这个直播间", "什么破店 再也不买了"])
def test_public_hostile_complaints_go_to_review(analyzer, lexicon, replies, text) -> None:
    m = mod(analyzer, lexicon, replies, text)
    assert m.action == "review" and "complaint" in m.categories


def test_held_out_comments_are_not_queued_for_their_mood(analyzer, lexicon, settings) -> None:
    """On held-out labelled comments: ads are flagged, questions, praise, greetings and
    purchases are almost never blocked, and most complaints (mostly after-sales trouble)
    stay out of the queue: negative sentiment alone queues nothing."""
    _, test = datasets.split(datasets.danmaku_intent(settings.labelled_dir))
    flagged, total, blocked_innocent = Counter(), Counter(), 0
    innocent = {"praise", "purchase", "greeting", "other", "ask_price", "ask_coupon", "ask_lottery", "ask_link", "ask_size", "ask_shipping", "ask_stock", "ask_product", "after_sales"}
    for e in test:
        m = moderate(analyzer.analyze(e.text), lexicon)
        total[e.label] += 1
        flagged[e.label] += m.flagged
        blocked_innocent += e.label in innocent and m.action == "block"
    assert flagged["spam_ad"] >= 0.6 * total["spam_ad"]
    assert flagged["after_sales"] <= 0.05 * total["after_sales"]
    assert flagged["complaint"] <= 0.6 * total["complaint"]
    assert blocked_innocent <= 0.02 * sum(total[c] for c in innocent)


def test_memo_gives_the_same_result_and_a_new_lexicon_starts_empty(analyzer, replies) -> None:
    from nlp_service.moderation.detect import moderate_memo
    from nlp_service.moderation.lexicon import Lexicon

    lex = Lexicon({"abuse": ["蠢货"]})
    a = analyzer.analyze("主播是个蠢货")
    first = moderate_memo(a, lex, replies)
    assert first == moderate(a, lex, replies) and first.action == "block"
    assert moderate_memo(a, lex, replies) is first  # remembered
    changed = Lexicon({"abuse": []})  # the lists changed: a new lexicon, nothing stale carried over
    assert changed.token != lex.token and moderate_memo(a, changed, replies).action == "pass"


def test_moderation_memo_is_bounded_by_bytes_for_long_hostile_comments(analyzer, replies) -> None:
    """A 2,000-character comment of one listed word holds ~1,000 terms (~390 KB measured):
    long distinct comments must push old entries out by their bytes, not their count."""
    from nlp_service.moderation import detect
    from nlp_service.moderation.lexicon import Lexicon

    bound = 2 * 2**20
    memo = detect.configure_memo(100_000, bound)
    try:
        lex = Lexicon({"abuse": ["蠢货"]})
        costs = []
        for i in range(40):
            a = analyzer.analyze(("蠢货" * 1000)[: 1990] + str(i))
            result = detect.moderate_memo(a, lex, replies)
            assert result.action == "block" and len(result.terms) > 900
            costs.append(detect.result_cost(a.text, result))
            assert memo.bytes <= bound
        assert min(costs) > 350_000  # each entry is charged for its terms
        assert 0 < len(memo) <= bound // min(costs) < 40  # the count alone would have kept all 40
        assert memo.bytes == sum(costs[-len(memo):])  # the accounting matches what is held
    finally:
        detect.configure_default_memo()


def test_the_clean_shortcut_gives_what_the_general_path_gives(analyzer, lexicon, replies, model, settings) -> None:
    """moderate() answers a comment with no list or pattern hit from the classifier and the
    group rule alone (``_clean``); with the shortcut off every comment takes the general
    path, and the results are the same: every labelled and moderation-eval comment, and the
    archive bench's rows (a number appended), with and without the classifier."""
    import csv
    from unittest import mock

    from nlp_service.moderation import detect

    labelled = [t for t, _, _ in datasets.danmaku(settings.labelled_dir)]
    with (settings.data_dir / "moderation" / "eval" / "labelled.tsv").open(encoding="utf-8") as fh:
        evaluated = [r["text"] for r in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)]
    analyses = [analyzer.analyze(t) for t in labelled + evaluated + [f"{t} {10_000 + i}" for i, t in enumerate(labelled)]]
    for classifier in (model, None):
        fast = [moderate(a, lexicon, replies, classifier=classifier) for a in analyses]
        with mock.patch.object(detect, "_clean", lambda *_args: False):
            general = [moderate(a, lexicon, replies, classifier=classifier) for a in analyses]
        assert [m.to_dict(full=True) for m in fast] == [m.to_dict(full=True) for m in general]
        assert sum(m.flagged for m in fast) > 50 and sum(not m.flagged for m in fast) > 1000
