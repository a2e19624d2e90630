"""The analysts' report: ``nlp-service report SCORED -o report.html`` (+ ``report.json``).

One self-contained HTML file (plotly's JavaScript inlined, no CDN, opens offline) and a
JSON file with the same figures: mood over time per room with spikes marked, what people
asked over time, top praise and complaint words with example comments, the moderation
summary, questions asked against answered (with a reply log), and a three-line summary.
Spikes use the same rule as the live room pulse (``moderation/pulse.py``).

The page speaks its readers' language: Chinese titles, intent and category names (the ids
in the tooltips, and everywhere in report.json), clock times of the show (``tz``) instead
of minute offsets.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections import Counter, defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nlp_service.batch.io import detect_format
from nlp_service.classify.labels import INTENT_NAMES_ZH
from nlp_service.core.errors import DataFileError, InvalidTimeZoneError
from nlp_service.moderation import pulse
from nlp_service.moderation.labels import ACTION_NAMES_ZH, CATEGORY_NAMES_ZH

QUESTION_INTENTS = ("ask_price", "ask_coupon", "ask_lottery", "ask_link", "ask_size", "ask_shipping", "ask_stock", "ask_product", "after_sales")
NEEDED = ("text", "sentiment", "intent", "keywords", "moderation_action", "moderation_categories")


def _read(path: Path, fmt: str | None, time_col: str):
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.json as pajson
    import pyarrow.parquet as pq

    fmt = detect_format(path, fmt)
    try:
        if fmt == "parquet":
            table = pq.read_table(path)
        elif fmt == "csv":
            table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(strings_can_be_null=False))
        else:
            table = pajson.read_json(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataFileError(f"cannot read {path.name} as {fmt}: {exc}") from None
    missing = [c for c in (*NEEDED, time_col) if c not in table.column_names]
    if missing:
        raise DataFileError(f"{path.name} lacks {', '.join(missing)} (is it the output of `nlp-service score`?); columns found: {', '.join(table.column_names)}")
    return table


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [v for v in str(value).split() if v]


def _minute(ts) -> int:
    if isinstance(ts, (int, float)):
        return int(ts) // 60_000
    import datetime as dt

    return int(dt.datetime.fromisoformat(str(ts)).timestamp()) // 60


def clock(start_minute_epoch: int, minute: int, tz: str) -> str:
    """A minute of the show (an offset from its first minute) as local ``YYYY-MM-DD HH:MM``."""
    return dt.datetime.fromtimestamp((start_minute_epoch + minute) * 60, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def build(
    path: Path, fmt: str | None = None, replies: Path | None = None, time_col: str = "ts", room_col: str = "room", user_col: str = "user",
    tz: str = "Asia/Shanghai",
) -> dict:  # fmt: skip
    """All figures of the report, as plain data (this is report.json); minute offsets come
    with their clock ``time`` in ``tz``."""
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidTimeZoneError(f"unknown time zone {tz!r}; use an IANA name such as Asia/Shanghai") from None
    table = _read(path, fmt, time_col)
    n = table.num_rows
    cols = {c: table[c].to_pylist() for c in (*NEEDED, time_col)}
    rooms = table[room_col].to_pylist() if room_col in table.column_names else ["all"] * n
    users = table[user_col].to_pylist() if user_col in table.column_names else [""] * n
    ids = table["id"].to_pylist() if "id" in table.column_names else [str(i) for i in range(n)]
    minutes = [_minute(t) for t in cols[time_col]]
    start = min(minutes) if minutes else 0

    mood: dict[str, dict[int, Counter]] = defaultdict(lambda: defaultdict(Counter))
    asked: dict[int, Counter] = defaultdict(Counter)
    praise_words, complaint_words = Counter(), Counter()
    praise_examples: dict[str, list[str]] = defaultdict(list)
    complaint_examples: dict[str, list[str]] = defaultdict(list)
    categories, actions, flagged_users = Counter(), Counter(), Counter()
    question_ids = set()
    for i in range(n):
        room, minute, sentiment, intent = rooms[i], minutes[i] - start, cols["sentiment"][i], cols["intent"][i]
        c = mood[room][minute]
        c["n"] += 1
        c["sentiment:" + sentiment] += 1
        cats = _as_list(cols["moderation_categories"][i])
        c["controversy"] += "complaint" in cats or "fraud_claim" in cats
        asked[minute][intent] += 1
        words = _as_list(cols["keywords"][i])
        if sentiment == "positive" and intent in ("praise", "purchase"):
            praise_words.update(words)
            for w in words:
                if len(praise_examples[w]) < 3:
                    praise_examples[w].append(cols["text"][i])
        if sentiment == "negative" and intent in ("complaint", "after_sales", "ask_shipping"):
            complaint_words.update(words)
            for w in words:
                if len(complaint_examples[w]) < 3:
                    complaint_examples[w].append(cols["text"][i])
        action = cols["moderation_action"][i]
        actions[action] += 1
        if action != "pass":
            categories.update(cats)
            flagged_users[users[i]] += 1
        if intent in QUESTION_INTENTS:
            question_ids.add(ids[i])

    spikes = []
    series_by_room = {}
    for room, per_minute in mood.items():
        last = max(per_minute)
        series = [(m, dict(per_minute.get(m, {}))) for m in range(0, last + 1)]
        series_by_room[room] = series
        for k in range(len(series)):
            window = series[max(0, k - pulse.BASELINE_MINUTES) : k + 1]
            alert = pulse.spike(window)
            if alert:
                spikes.append({"room": room, **alert, "time": clock(start, alert["minute"], tz)})

    answered = None
    if replies is not None:
        answered = _answered(replies, question_ids)
    top_intents = Counter()
    for per_minute in asked.values():
        top_intents.update({k: v for k, v in per_minute.items() if k in QUESTION_INTENTS})
    report = {
        "source": str(path), "comments": n, "rooms": sorted(mood), "start_minute_epoch": start, "timezone": tz,
        "mood": {room: [{"minute": m, "n": c.get("n", 0), **_shares(c)} for m, c in series] for room, series in series_by_room.items()},
        "spikes": spikes,
        "asked": [{"minute": m, "time": clock(start, m, tz), **{k: asked[m].get(k, 0) for k in QUESTION_INTENTS}} for m in sorted(asked)],
        "top_questions": top_intents.most_common(),
        "praise_words": [{"word": w, "count": c, "examples": praise_examples[w]} for w, c in praise_words.most_common(15)],
        "complaint_words": [{"word": w, "count": c, "examples": complaint_examples[w]} for w, c in complaint_words.most_common(15)],
        "moderation": {"actions": dict(actions), "categories": dict(categories.most_common()), "top_flagged_users": flagged_users.most_common(10)},
        "questions": {"asked": len(question_ids), **(answered or {})},
    }  # fmt: skip
    report["summary"] = _summary(report)
    return report


def _shares(c: dict) -> dict:
    n = c.get("n", 0) or 1
    return {s: round(c.get("sentiment:" + s, 0) / n, 4) for s in ("positive", "neutral", "negative")}


def _answered(path: Path, question_ids: set[str]) -> dict:
    """Questions answered, from a reply log: JSONL of reply results ({id, reply, reason}).

    Counted apart: a question's own reply; a question named in another comment's reply
    (``reply.answers`` lists the comment ids a reply answers); and a question that was
    aggregated, capped or budget-limited but never named, which is not answered."""
    replied, named, held = set(), set(), set()
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            cid = str(r.get("id"))
            if r.get("reply"):
                replied.add(cid)
                named.update(str(x) for x in r["reply"].get("answers", ()) if str(x) != cid)
            elif r.get("reason") in {"aggregated", "mention_cap", "budget"}:
                held.add(cid)
    replied &= question_ids
    named = (named & question_ids) - replied
    dropped = (held & question_ids) - named - replied
    answered = replied | named
    return {
        "answered": len(answered),
        "answered_by_own_reply": len(replied),
        "aggregated_and_named": len(named),
        "aggregated_or_limited_not_named": len(dropped),
        "answered_share": round(len(answered) / len(question_ids), 4) if question_ids else 0.0,
    }


def _summary(r: dict) -> list[str]:
    lines = []
    if r["spikes"]:
        worst = max(r["spikes"], key=lambda s: s["negative_share"])
        words = "、".join(w["word"] for w in r["complaint_words"][:3]) or "—"
        lines.append(f"情绪突变：{worst['room']} 在 {worst['time'][-5:]}，负面占比 {worst['negative_share']:.0%}"
                     f"（此前基线 {worst['baseline_negative_share']:.0%}）；差评高频词：{words}。")  # fmt: skip
    else:
        lines.append("没有情绪突变：各直播间的负面占比一直接近各自的基线。")
    if r["top_questions"]:
        intent, count = r["top_questions"][0]
        peak = max(r["asked"], key=lambda m: m.get(intent, 0))
        answered = f"；{r['questions']['answered_share']:.0%} 的提问得到了回答" if "answered_share" in r["questions"] else ""
        lines.append(f"问得最多：{INTENT_NAMES_ZH.get(intent, intent)}（{count} 次），高峰在 {peak['time'][-5:]}{answered}。")
    mod = r["moderation"]
    flagged = sum(v for k, v in mod["actions"].items() if k != "pass")
    top = next(iter(mod["categories"]), None)
    lines.append(f"共标记 {flagged} 条评论（屏蔽 {mod['actions'].get('block', 0)}，待审 {mod['actions'].get('review', 0)}）"
                 + (f"，最多的是{CATEGORY_NAMES_ZH.get(top, top)}。" if top else "。"))  # fmt: skip
    return lines


# --- rendering ---------------------------------------------------------------------------

def render_html(report: dict) -> str:
    """The self-contained page: plotly.js inlined once, one div per chart."""
    import plotly.graph_objects as go
    from plotly.offline import get_plotlyjs

    charts = []
    times = {room: [clock(report["start_minute_epoch"], p["minute"], report["timezone"]) for p in series] for room, series in report["mood"].items()}
    fig = go.Figure()
    for room, series in report["mood"].items():
        fig.add_scatter(x=times[room], y=[p["negative"] for p in series], mode="lines", name=f"{room} 负面")
        fig.add_scatter(x=times[room], y=[p["positive"] for p in series], mode="lines", name=f"{room} 正面", line={"dash": "dot"})
    for s in report["spikes"]:
        fig.add_vline(x=s["time"], line={"color": "red", "width": 1})
    fig.update_layout(title="情绪走势（每分钟评论占比；红线：情绪突变）", xaxis_title=f"时间（{report['timezone']}）", yaxis_tickformat=".0%")
    charts.append(("mood", fig))
    fig = go.Figure()
    asked_times = [m["time"] for m in report["asked"]]
    for intent in QUESTION_INTENTS:
        name = INTENT_NAMES_ZH.get(intent, intent)
        fig.add_scatter(x=asked_times, y=[m[intent] for m in report["asked"]], mode="lines", name=name,
                        hovertemplate=f"{name}（{intent}）<br>%{{x}}：%{{y}} 条<extra></extra>")  # fmt: skip
    fig.update_layout(title="观众在问什么（每分钟条数）", xaxis_title=f"时间（{report['timezone']}）")
    charts.append(("asked", fig))
    for name, key, title, colour in (("praise", "praise_words", "好评高频词", "#2a9d8f"), ("complaints", "complaint_words", "差评高频词", "#e76f51")):
        words = report[key][::-1]  # largest at the top of a horizontal bar chart
        fig = go.Figure()
        fig.add_bar(x=[w["count"] for w in words], y=[w["word"] for w in words], orientation="h", name=title, marker_color=colour)
        fig.update_layout(title=title)
        charts.append((name, fig))
    mod = report["moderation"]
    fig = go.Figure()
    cats = list(mod["categories"])
    fig.add_bar(x=[CATEGORY_NAMES_ZH.get(c, c) for c in cats], y=list(mod["categories"].values()), name="被标记", customdata=cats,
                hovertemplate="%{x}（%{customdata}）：%{y} 条<extra></extra>")  # fmt: skip
    counts = "，".join(f"{ACTION_NAMES_ZH.get(k, k)} {v}" for k, v in mod["actions"].items())
    fig.update_layout(title=f"审核：被标记评论按类别（{counts}）")
    charts.append(("moderation", fig))
    if "answered" in report["questions"]:
        q = report["questions"]
        fig = go.Figure()
        fig.add_bar(x=["提问", "已回答"], y=[q["asked"], q["answered"]])
        fig.update_layout(title="提问与回答")
        charts.append(("answered", fig))

    divs = "\n".join(f'<section id="chart-{name}" class="chart">{f.to_html(full_html=False, include_plotlyjs=False, div_id="plot-" + name)}</section>' for name, f in charts)
    summary = "".join(f"<li>{html.escape(line)}</li>" for line in report["summary"])

    def examples(words: list[dict]) -> str:
        rows = "".join(f"<tr><td>{html.escape(w['word'])}</td><td>{w['count']}</td><td>{html.escape(' / '.join(w['examples']))}</td></tr>" for w in words[:10])
        return f"<table><tr><th>词</th><th>次数</th><th>例句</th></tr>{rows}</table>"

    users = "".join(f"<tr><td>{html.escape(str(u))}</td><td>{c}</td></tr>" for u, c in mod["top_flagged_users"])
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>直播间复盘报告</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}} table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ddd;padding:4px 8px;text-align:left}} .summary{{background:#f6f6f6;padding:1em 2em}}</style>
<script>{get_plotlyjs()}</script></head><body>
<h1>直播间复盘报告</h1><p>{report['comments']:,} 条评论，直播间：{html.escape('、'.join(report['rooms']))}；时间为 {html.escape(report['timezone'])}</p>
<section class="summary"><h2>三个要点</h2><ol>{summary}</ol></section>
{divs}
<h2>好评词与例句</h2>{examples(report['praise_words'])}
<h2>差评词与例句</h2>{examples(report['complaint_words'])}
<h2>被标记最多的用户</h2><table><tr><th>用户</th><th>被标记评论数</th></tr>{users}</table>
</body></html>"""


def write_report(scored: Path, out_html: Path, replies: Path | None = None, fmt: str | None = None, **cols) -> dict:
    """Write report.html and report.json (beside it); returns the report data."""
    report = build(scored, fmt, replies, **cols)
    out_html.write_text(render_html(report), encoding="utf-8")
    out_html.with_suffix(".json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return report

