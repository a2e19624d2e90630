"""The label vocabularies of the models (PRODUCT.md): 3 sentiments, 15 intents.

Data, training, rules and schemas all name labels from here, so no layer imports data
loading just to know the vocabulary.
"""

from __future__ import annotations

SENTIMENTS = ("negative", "neutral", "positive")
INTENTS = (
    "ask_price", "ask_coupon", "ask_lottery", "ask_link", "ask_size", "ask_shipping",
    "ask_stock", "ask_product", "after_sales", "complaint", "praise", "purchase",
    "greeting", "spam_ad", "other",
)  # fmt: skip
