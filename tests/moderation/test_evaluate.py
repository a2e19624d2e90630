"""The eval's queue share: what fraction of a stream the moderators would have to see."""

from nlp_service.moderation.evaluate import StreamComment, evaluate_queue


def test_queue_share_counts_review_and_block_and_skips_unusable_text(analyzer, model):
    texts = ["几号链接", "加薇信 13812345678", "主播是骗子 卖假货", "困死我了", "\u0000", "杯子收到就裂了咋办"]
    result = evaluate_queue(analyzer, texts, model)
    assert result["comments"] == 5  # the control character alone is not a comment
    assert result["queued"] == 2 and result["queued_share"] == 0.4
    assert set(result["by_category"]) == {"ad_contact", "fraud_claim"}  # an after-sales problem is not queued


def test_queue_items_group_a_storm_of_one_text_within_the_window(analyzer, model):
    storm = ["骗子 钱收了不发货", "骗子 钱收了不发货???", "骗子 钱收了不发货😭"]
    comments = [StreamComment(t, 1_000 * i, "room1", f"u{i % 2}") for i, t in enumerate(storm)]
    comments += [StreamComment("骗子 钱收了不发货", 1_000 * 400, "room1", "u9")]  # after a pause longer than the window
    comments += [StreamComment("骗子 钱收了不发货", 1_000, "room2", "u1"), StreamComment("几号链接", 2_000, "room1", "u3")]
    grouped = evaluate_queue(analyzer, comments, model, group_seconds=300)
    assert grouped["comments"] == 6 and grouped["queued"] == 5  # flagged comments are counted as before
    assert grouped["items"] == 3 and grouped["items_share"] == 0.5
    assert grouped["largest_items"] == [{"text": "骗子 钱收了不发货", "repeats": 3, "users": 2}]
    assert evaluate_queue(analyzer, comments, model)["items"] == 5  # window 0: one item per comment
