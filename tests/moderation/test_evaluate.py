"""The eval's queue share: what fraction of a stream the moderators would have to see."""

from nlp_service.moderation.evaluate import evaluate_queue


def test_queue_share_counts_review_and_block_and_skips_unusable_text(analyzer, model):
    texts = ["几号链接", "加薇信 13812345678", "主播是骗子 卖假货", "困死我了", "\u0000", "杯子收到就裂了咋办"]
    result = evaluate_queue(analyzer, texts, model)
    assert result["comments"] == 5  # the control character alone is not a comment
    assert result["queued"] == 2 and result["queued_share"] == 0.4
    assert set(result["by_category"]) == {"ad_contact", "fraud_claim"}  # an after-sales problem is not queued
