"""select with the snapshot's memo of usable variants (decide.usable_of) decides as select
without it: the same chosen rule, variants, skips and reason, for random rules and variables."""

from __future__ import annotations

from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from nlp_service.live.decide import select
from nlp_service.replies.matcher import Candidate, MatchResult
from nlp_service.replies.rules import Rule

NAMES = ["coupon_code", "price", "link", "nickname", "room"]
_TEMPLATE = st.lists(st.sampled_from([*(f"{{{n}}}" for n in NAMES), "好", "券"]), min_size=1, max_size=4).map("".join)
_RULE = st.builds(
    lambda i, replies, sentiments: Rule.model_validate(
        {"id": f"r{i}", "match": {"any": ["福袋"]}, "replies": replies, "priority": i, **({"when_sentiment": sentiments} if sentiments else {})}
    ),
    st.integers(0, 5), st.lists(_TEMPLATE, min_size=1, max_size=3), st.lists(st.sampled_from(["positive", "neutral", "negative"]), max_size=2, unique=True),
)  # fmt: skip


@hsettings(max_examples=300, deadline=None)
@given(
    rules=st.lists(_RULE, max_size=5, unique_by=lambda r: r.id),
    variables=st.dictionaries(st.sampled_from(NAMES[:3]), st.text(max_size=3)),
    comments=st.lists(st.tuples(st.sampled_from(["positive", "neutral", "negative"]), st.lists(st.integers(0, 4), max_size=5)), max_size=6),
)
def test_memo_decides_as_without_it(rules: list[Rule], variables: dict[str, str], comments: list) -> None:
    usable: dict = {}  # one snapshot's, across its comments
    for sentiment, picks in comments:
        matched = [rules[i] for i in dict.fromkeys(picks) if i < len(rules)]
        result = MatchResult(candidates=[Candidate(r) for r in matched], rejected=[])
        kept, plain = select(result, sentiment, variables, 0, usable), select(result, sentiment, variables, 0)
        assert (kept.chosen, kept.variants, kept.skipped, kept.reason) == (plain.chosen, plain.variants, plain.skipped, plain.reason)
