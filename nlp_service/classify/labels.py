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

# What the people using the console and the report read (ids stay in tooltips and JSON).
SENTIMENT_NAMES_ZH = {"negative": "负面", "neutral": "中性", "positive": "正面"}
INTENT_NAMES_ZH = {
    "ask_price": "问价格", "ask_coupon": "问优惠券", "ask_lottery": "问抽奖", "ask_link": "要链接",
    "ask_size": "问尺码", "ask_shipping": "问发货", "ask_stock": "问库存", "ask_product": "问商品",
    "after_sales": "售后", "complaint": "投诉", "praise": "夸赞", "purchase": "下单",
    "greeting": "打招呼", "spam_ad": "广告", "other": "其他",
}  # fmt: skip
