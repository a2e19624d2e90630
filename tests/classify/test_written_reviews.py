"""The generated mixed reviews are what their generator writes, and follow its labelling rule."""

import importlib.util
from pathlib import Path

from nlp_service.classify import datasets

ROOT = Path(__file__).resolve().parents[2]


def _tool():
    spec = importlib.util.spec_from_file_location("make_hedged_reviews", ROOT / "tools" / "make_hedged_reviews.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_hedged_reviews_file_is_the_generators_output() -> None:
    # a clause edited without rerunning the tool would train on stale rows
    rows = _tool().build()
    written = {e.text: e.label for e in datasets.written_reviews(ROOT / "data" / "reviews") if e.text in rows}
    assert written == rows
    assert len(rows) > 2000 and set(rows.values()) == {"positive", "negative"}


def test_a_concrete_failure_is_negative_wherever_it_sits() -> None:
    tool = _tool()
    serious = tool._read("food_serious")
    rows = tool.build()
    with_failure = [(t, lab) for t, lab in rows.items() if any(t.startswith(c) for c in serious)]
    assert with_failure and all(lab == "negative" for _, lab in with_failure)
