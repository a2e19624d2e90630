"""The cutoff of the group-attack rule (``detect._group_attack``), chosen at training time
from the training rows that name a group of people."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from nlp_service.core.config import Settings
from nlp_service.moderation.detect import group_mention
from nlp_service.moderation.lexicon import Lexicon
from nlp_service.moderation.training_data import TrainingRow

# The attack on a group with no listed word (detect._group_attack): a named group of people
# plus a sentiment score under a cutoff. The cutoff is the largest of these whose precision
# on our own training rows that name a group (abuse against clean) is at least the target:
# the rule reads no insult, so it must be surer than the classifier's 0.9.
GROUP_CUTOFFS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4)
GROUP_PRECISION = 0.95


def choose_group_cutoff(rows: Sequence[TrainingRow], score: Callable[[str], tuple[bool, float]]) -> tuple[float | None, dict]:
    """(cutoff or None, a report) from the rows that name a group and are abuse or clean.
    ``score(text)`` gives (whether the comment names a group, its sentiment score)."""
    seen = []
    for r in rows:
        if r.categories and "abuse" not in r.categories:
            continue
        names_group, s = score(r.text)
        if names_group:
            seen.append(("abuse" in r.categories, s))
    best, table = None, {}
    for cut in GROUP_CUTOFFS:
        flagged = [y for y, s in seen if s < cut]
        precision = sum(flagged) / len(flagged) if flagged else 0.0
        table[cut] = {"flagged": len(flagged), "precision": round(precision, 4), "recall": round(sum(flagged) / max(1, sum(y for y, _ in seen)), 4)}
        if flagged and precision >= GROUP_PRECISION:
            best = cut
    return best, {"rows_naming_a_group": len(seen), "abuse_among_them": sum(y for y, _ in seen), "by_cutoff": table}


def group_scorer(settings: Settings, lexicon: Lexicon) -> Callable[[str], tuple[bool, float]]:
    # imported here: analysis loads the trained sentiment model, trained before this step
    from nlp_service.analysis import Analyzer

    analyzer = Analyzer.load(settings)

    def score(text: str) -> tuple[bool, float]:
        a = analyzer.analyze(text)
        return group_mention(a, lexicon) is not None, a.sentiment.score

    return score
