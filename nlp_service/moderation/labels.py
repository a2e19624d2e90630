"""The moderation vocabulary (PRODUCT.md): categories, actions and each category's default action.

Plain constants with no imports, so lists, detection, evaluation and the API share one
spelling.
"""

from __future__ import annotations

PASS, REVIEW, BLOCK = "pass", "review", "block"
ACTIONS = (PASS, REVIEW, BLOCK)
# Categories the word lists carry; flood is found by rate, never by a listed word.
LIST_CATEGORIES = ("abuse", "sexual", "ad_contact", "illegal", "personal_info", "fraud_claim", "complaint")
CATEGORIES = (*LIST_CATEGORIES, "flood")
DEFAULT_ACTION = {
    "abuse": BLOCK, "sexual": BLOCK, "ad_contact": BLOCK, "illegal": BLOCK, "personal_info": BLOCK,
    "fraud_claim": REVIEW, "complaint": REVIEW, "flood": BLOCK,
}  # fmt: skip

# What moderators and analysts read (ids stay in tooltips and JSON).
CATEGORY_NAMES_ZH = {
    "abuse": "辱骂", "sexual": "色情", "ad_contact": "引流", "illegal": "违法", "personal_info": "个人信息",
    "fraud_claim": "指控假货/骗子", "complaint": "煽动性投诉", "flood": "刷屏", "mood_spike": "舆情突变", "allow": "白名单",
}  # fmt: skip
ACTION_NAMES_ZH = {PASS: "通过", REVIEW: "待审", BLOCK: "屏蔽"}
