"""generate → score → report, and the report in a real headless browser (Debian's chromium)."""

import json
import shutil
from pathlib import Path

import pytest

from nlp_service.batch import demo
from nlp_service.batch.report import write_report
from nlp_service.batch.score import ScoreOptions, score_file

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "var" / "test-artifacts" / "report.png"


@pytest.fixture(scope="module")
def scored(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    archive = folder / "archive.parquet"
    assert demo.write_archive(archive, rows=24_000, rooms=2) >= 24_000
    out = folder / "scored.parquet"
    score_file(archive, out, ScoreOptions(workers=2, chunk_rows=6000))
    return out


@pytest.fixture(scope="module")
def report(scored, tmp_path_factory) -> tuple[Path, dict]:
    html_path = tmp_path_factory.mktemp("html") / "report.html"
    replies = html_path.with_name("replies.jsonl")
    import pyarrow.parquet as pq

    rows = pq.read_table(scored, columns=["id", "intent"]).to_pylist()
    asked = [r["id"] for r in rows if r["intent"].startswith("ask_")]
    replies.write_text("".join(json.dumps({"id": i, "reply": {"text": "ok"} if n % 2 else None, "reason": None if n % 2 else "budget"}) + "\n" for n, i in enumerate(asked)), encoding="utf-8")
    return html_path, write_report(scored, html_path, replies)


def test_report_finds_the_planted_events(report) -> None:
    _, data = report
    spike_minutes = {s["minute"] for s in data["spikes"]}
    assert demo.COMPLAINT_SPIKE_MINUTE in spike_minutes or demo.COMPLAINT_SPIKE_MINUTE + 1 in spike_minutes
    assert all(m >= demo.COMPLAINT_SPIKE_MINUTE for m in spike_minutes)
    peak = lambda intent: max(data["asked"], key=lambda m: m[intent])["minute"]  # noqa: E731
    assert demo.LAUNCH_MINUTE <= peak("ask_link") < demo.LAUNCH_MINUTE + 5
    assert demo.COUPON_MINUTE <= peak("ask_coupon") < demo.COUPON_MINUTE + 4
    assert data["complaint_words"] and data["praise_words"] and data["praise_words"][0]["examples"]
    assert data["moderation"]["categories"] and data["moderation"]["top_flagged_users"]
    assert 0.4 < data["questions"]["answered_share"] < 0.6
    assert len(data["summary"]) == 3 and data["summary"][0].startswith("情绪突变")


def test_report_json_matches_html(report) -> None:
    html_path, data = report
    on_disk = json.loads(html_path.with_suffix(".json").read_text(encoding="utf-8"))
    assert on_disk["spikes"] == data["spikes"]
    page = html_path.read_text(encoding="utf-8")
    assert "<script src=" not in page  # plotly.js is inlined: the page opens offline
    assert "Plotly" in page


def test_report_speaks_chinese_with_ids_in_tooltips_and_clock_times(report) -> None:
    import re

    html_path, data = report
    page = html_path.read_text(encoding="utf-8")
    shown = lambda text: text in page or json.dumps(text)[1:-1] in page  # noqa: E731  (plotly's JSON escapes non-ASCII)
    for title in ("情绪走势", "观众在问什么", "好评高频词", "差评高频词", "审核：被标记评论按类别", "提问与回答", "三个要点"):
        assert shown(title), title
    assert shown("问优惠券（ask_coupon）") and shown("要链接（ask_link）")  # names shown, ids in the hover text
    assert shown("%{x}（%{customdata}）") and '"fraud_claim"' in page
    assert "Three things" not in page and "Mood over time" not in page
    # report.json keeps the ids and the offsets, and adds the clock time of each minute
    assert data["timezone"] == "Asia/Shanghai" and set(data["moderation"]["categories"]) <= {"abuse", "sexual", "ad_contact", "illegal", "personal_info", "fraud_claim", "complaint", "flood"}
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", s["time"]) for s in data["spikes"]) and data["asked"][0]["time"]
    worst = max(data["spikes"], key=lambda s: s["negative_share"])  # the spike the summary names
    assert worst["time"][-5:] in data["summary"][0] and f"minute {worst['minute']}" not in data["summary"][0]


def test_report_renders_in_a_real_browser(report) -> None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium is needed (apt-get install chromium; .ci/run installs it)"
    html_path, _ = report
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(html_path.as_uri())
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 6", timeout=30_000)
        charts = page.eval_on_selector_all("section.chart", "els => els.map(e => e.querySelectorAll('.main-svg').length > 0 && e.querySelector('.plot-container') !== null)")
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        browser.close()
    assert errors == []
    assert len(charts) == 6 and all(charts)
    assert SCREENSHOT.stat().st_size > 10_000


def test_report_on_a_file_that_is_not_a_scored_archive(tmp_path) -> None:
    from nlp_service.core.errors import DataFileError

    empty = tmp_path / "scored.jsonl"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(DataFileError, match="cannot read scored.jsonl"):
        write_report(empty, tmp_path / "r.html")
    plain = tmp_path / "plain.jsonl"
    plain.write_text('{"text": "几号链接", "ts": 1}\n', encoding="utf-8")
    with pytest.raises(DataFileError, match="lacks sentiment"):
        write_report(plain, tmp_path / "r.html")
