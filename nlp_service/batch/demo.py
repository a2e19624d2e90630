"""A realistic synthetic archive for demos and tests: ``nlp-service demo-archive``.

Comments come from the project's own labelled live-room comments (``data/labelled``),
drawn by intent with a show's shape: a greeting rush at the start, a product launch that
makes ask_link surge, a coupon announcement, a lottery, and a shipping-complaint spike at a
known minute (``COMPLAINT_SPIKE_MINUTE``), over a few rooms and two hours. Users follow a
heavy-tailed activity distribution (a few very active viewers, many who speak once), with
stable nicknames. Deterministic for a seed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from nlp_service.batch.io import Writer, detect_format
from nlp_service.classify import datasets

START_TS = 1764072000000  # 2025-11-25 20:00 Asia/Shanghai
MINUTES = 120
LAUNCH_MINUTE, COUPON_MINUTE, LOTTERY_MINUTE, COMPLAINT_SPIKE_MINUTE = 15, 40, 70, 95

BASE_MIX = {
    "greeting": 8, "other": 20, "praise": 10, "purchase": 10, "ask_price": 7, "ask_link": 6, "ask_size": 6,
    "ask_product": 7, "ask_shipping": 4, "ask_stock": 4, "ask_coupon": 4, "ask_lottery": 4, "after_sales": 2,
    "complaint": 2, "spam_ad": 1,
}  # fmt: skip
_SYLLABLES = "小 大 阿 宝 甜 酸 乐 安 晴 雨 星 月 鱼 猫 兔 熊 糖 桃 橙 柠 檬 菲 琪 瑶 婷 杰 浩 宇 轩 萌 仔 妹 哥 姐 叔".split()
_TAILS = ["", "", "", "", "？", "？？", "!!", "😂", "👍", "❤️", "😭", "哈哈", "啊", "呀", " 家人们"]


def _events(minute: int) -> dict[str, float]:
    """Intent weight multipliers at a minute of the show."""
    boost: dict[str, float] = {}
    if minute < 5:
        boost["greeting"] = 6.0
    if LAUNCH_MINUTE <= minute < LAUNCH_MINUTE + 5:
        boost.update(ask_link=8.0, ask_price=3.0, purchase=2.0)
    if COUPON_MINUTE <= minute < COUPON_MINUTE + 4:
        boost["ask_coupon"] = 9.0
    if LOTTERY_MINUTE <= minute < LOTTERY_MINUTE + 3:
        boost["ask_lottery"] = 8.0
    if COMPLAINT_SPIKE_MINUTE <= minute < COMPLAINT_SPIKE_MINUTE + 3:
        boost.update(complaint=25.0, after_sales=6.0, ask_shipping=4.0)
    return boost


def _volume(minute: int) -> float:
    """Relative comment volume: busier around events, quieter mid-show."""
    v = 1.0 + 0.6 * (minute < 5)
    for start, width, extra in ((LAUNCH_MINUTE, 5, 1.2), (COUPON_MINUTE, 4, 0.8), (LOTTERY_MINUTE, 3, 1.0), (COMPLAINT_SPIKE_MINUTE, 3, 0.9)):
        if start <= minute < start + width:
            v += extra
    return v


def generate(rows: int = 200_000, rooms: int = 3, seed: int = 7, chunk: int = 50_000, labelled_dir: Path | None = None) -> Iterator[pa.Table]:
    """Yield the archive in time order, in tables of about ``chunk`` rows."""
    from nlp_service.core.config import get_settings

    rng = random.Random(seed)
    by_intent: dict[str, list[str]] = {}
    for text, intent, _ in datasets.danmaku(labelled_dir or get_settings().labelled_dir):
        by_intent.setdefault(intent, []).append(text)
    room_names = [f"room-{c}" for c in "abcdefgh"[:rooms]]
    users = {r: [f"{r[-1]}u{i:05d}" for i in range(4000)] for r in room_names}
    nick = {u: "".join(rng.choice(_SYLLABLES) for _ in range(rng.choice((2, 3)))) + (str(rng.randrange(100)) if rng.random() < 0.3 else "") for r in room_names for u in users[r]}
    weights = [1.0 / (i + 1) ** 0.9 for i in range(4000)]  # heavy-tailed activity
    total_volume = sum(_volume(m) for m in range(MINUTES)) * rooms
    buffer: dict[str, list] = {k: [] for k in ("id", "room", "user", "nickname", "text", "ts")}
    n = 0
    for minute in range(MINUTES):
        mix = {k: v * _events(minute).get(k, 1.0) for k, v in BASE_MIX.items()}
        intents, mix_w = list(mix), list(mix.values())
        for room in room_names:
            count = math.ceil(rows * _volume(minute) / total_volume)
            picked_users = rng.choices(users[room], weights=weights, k=count)
            picked_intents = rng.choices(intents, weights=mix_w, k=count)
            offsets = sorted(rng.randrange(60_000) for _ in range(count))
            for user, intent, off in zip(picked_users, picked_intents, offsets, strict=True):
                text = rng.choice(by_intent[intent]) + rng.choice(_TAILS)
                buffer["id"].append(f"d{n:08d}")
                buffer["room"].append(room)
                buffer["user"].append(user)
                buffer["nickname"].append(nick[user])
                buffer["text"].append(text)
                buffer["ts"].append(START_TS + minute * 60_000 + off)
                n += 1
            if len(buffer["id"]) >= chunk:
                yield pa.table(buffer)
                buffer = {k: [] for k in buffer}
    if buffer["id"]:
        yield pa.table(buffer)


def write_archive(path: Path, rows: int = 200_000, rooms: int = 3, seed: int = 7, fmt: str | None = None) -> int:
    """Write the demo archive; returns the number of rows."""
    writer = Writer(path, detect_format(path, fmt))
    n = 0
    for table in generate(rows, rooms, seed):
        writer.write(table)
        n += table.num_rows
    writer.close()
    return n
