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
