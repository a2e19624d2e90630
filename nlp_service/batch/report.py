"""The analysts' report: ``nlp-service report SCORED -o report.html`` (+ ``report.json``).

One self-contained HTML file (plotly's JavaScript inlined, no CDN, opens offline) and a
JSON file with the same figures: mood over time per room with spikes marked, what people
asked over time, top praise and complaint words with example comments, the moderation
summary, questions asked against answered (with a reply log), and a three-line summary.
Spikes use the same rule as the live room pulse (``moderation/pulse.py``).
"""

from __future__ import annotations

import html
import json
from collections import Counter, defaultdict
from pathlib import Path

from nlp_service.batch.io import detect_format
from nlp_service.core.errors import DataFileError
from nlp_service.moderation import pulse

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


def build(path: Path, fmt: str | None = None, replies: Path | None = None, time_col: str = "ts", room_col: str = "room", user_col: str = "user") -> dict:
    """All figures of the report, as plain data (this is report.json)."""
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
                spikes.append({"room": room, **alert})

    answered = None
    if replies is not None:
        answered = _answered(replies, question_ids)
    top_intents = Counter()
    for per_minute in asked.values():
        top_intents.update({k: v for k, v in per_minute.items() if k in QUESTION_INTENTS})
    report = {
        "source": str(path), "comments": n, "rooms": sorted(mood), "start_minute_epoch": start,
        "mood": {room: [{"minute": m, "n": c.get("n", 0), **_shares(c)} for m, c in series] for room, series in series_by_room.items()},
        "spikes": spikes,
        "asked": [{"minute": m, **{k: asked[m].get(k, 0) for k in QUESTION_INTENTS}} for m in sorted(asked)],
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
        lines.append(f"Mood spike in {worst['room']} at minute {worst['minute']}: {worst['negative_share']:.0%} negative ({worst['why']}); top complaint words: {words}.")
    else:
        lines.append("No mood spike: the rooms' negative share stayed near its own baseline.")
    if r["top_questions"]:
        intent, count = r["top_questions"][0]
        peak = max(r["asked"], key=lambda m: m.get(intent, 0))
        answered = f"; {r['questions']['answered_share']:.0%} of questions were answered" if "answered_share" in r["questions"] else ""
        lines.append(f"Most asked: {intent} ({count} times), peaking at minute {peak['minute']}{answered}.")
    mod = r["moderation"]
    flagged = sum(v for k, v in mod["actions"].items() if k != "pass")
    top = next(iter(mod["categories"]), None)
    lines.append(f"{flagged} comments flagged ({mod['actions'].get('block', 0)} blocked, {mod['actions'].get('review', 0)} to review)" + (f", mostly {top}." if top else "."))
    return lines


# --- rendering ---------------------------------------------------------------------------

def render_html(report: dict) -> str:
    """The self-contained page: plotly.js inlined once, one div per chart."""
    import plotly.graph_objects as go
    from plotly.offline import get_plotlyjs

    charts = []
    fig = go.Figure()
    for room, series in report["mood"].items():
        fig.add_scatter(x=[p["minute"] for p in series], y=[p["negative"] for p in series], mode="lines", name=f"{room} negative")
        fig.add_scatter(x=[p["minute"] for p in series], y=[p["positive"] for p in series], mode="lines", name=f"{room} positive", line={"dash": "dot"})
    for s in report["spikes"]:
        fig.add_vline(x=s["minute"], line={"color": "red", "width": 1})
    fig.update_layout(title="Mood over time (share of comments per minute; red lines: spikes)", xaxis_title="minute of the show", yaxis_tickformat=".0%")
    charts.append(("mood", fig))
    fig = go.Figure()
    for intent in QUESTION_INTENTS:
        fig.add_scatter(x=[m["minute"] for m in report["asked"]], y=[m[intent] for m in report["asked"]], mode="lines", name=intent)
    fig.update_layout(title="What people asked (comments per minute)", xaxis_title="minute of the show")
    charts.append(("asked", fig))
    for name, key, title, colour in (("praise", "praise_words", "Top praise words", "#2a9d8f"), ("complaints", "complaint_words", "Top complaint words", "#e76f51")):
        words = report[key][::-1]  # largest at the top of a horizontal bar chart
        fig = go.Figure()
        fig.add_bar(x=[w["count"] for w in words], y=[w["word"] for w in words], orientation="h", name=name, marker_color=colour)
        fig.update_layout(title=title)
        charts.append((name, fig))
    mod = report["moderation"]
    fig = go.Figure()
    fig.add_bar(x=list(mod["categories"]), y=list(mod["categories"].values()), name="flagged")
    fig.update_layout(title=f"Moderation: flagged comments by category ({', '.join(f'{k} {v}' for k, v in mod['actions'].items())})")
    charts.append(("moderation", fig))
    if "answered" in report["questions"]:
        q = report["questions"]
        fig = go.Figure()
        fig.add_bar(x=["asked", "answered"], y=[q["asked"], q["answered"]])
        fig.update_layout(title="Questions asked and answered")
        charts.append(("answered", fig))

    divs = "\n".join(f'<section id="chart-{name}" class="chart">{f.to_html(full_html=False, include_plotlyjs=False, div_id="plot-" + name)}</section>' for name, f in charts)
    summary = "".join(f"<li>{html.escape(line)}</li>" for line in report["summary"])

    def examples(words: list[dict]) -> str:
        rows = "".join(f"<tr><td>{html.escape(w['word'])}</td><td>{w['count']}</td><td>{html.escape(' / '.join(w['examples']))}</td></tr>" for w in words[:10])
        return f"<table><tr><th>word</th><th>count</th><th>example comments</th></tr>{rows}</table>"

    users = "".join(f"<tr><td>{html.escape(str(u))}</td><td>{c}</td></tr>" for u, c in mod["top_flagged_users"])
    return f"""<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>直播间复盘报告</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}} table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ddd;padding:4px 8px;text-align:left}} .summary{{background:#f6f6f6;padding:1em 2em}}</style>
<script>{get_plotlyjs()}</script></head><body>
<h1>直播间复盘报告</h1><p>{report['comments']:,} comments, rooms: {html.escape(', '.join(report['rooms']))}</p>
<section class="summary"><h2>Three things to know</h2><ol>{summary}</ol></section>
{divs}
<h2>Praise words with examples</h2>{examples(report['praise_words'])}
<h2>Complaint words with examples</h2>{examples(report['complaint_words'])}
<h2>Most flagged users</h2><table><tr><th>user</th><th>flagged comments</th></tr>{users}</table>
</body></html>"""


def write_report(scored: Path, out_html: Path, replies: Path | None = None, fmt: str | None = None, **cols) -> dict:
    """Write report.html and report.json (beside it); returns the report data."""
    report = build(scored, fmt, replies, **cols)
    out_html.write_text(render_html(report), encoding="utf-8")
    out_html.with_suffix(".json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return report

