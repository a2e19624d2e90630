"""The model for comments that name a group of people: attacks on a group with no listed word.

An attack on a group rarely carries an insulting word: it states a stereotype as a fact
(X人就是懒), compares a group to animals, calls for exclusion, or mocks with sarcasm. Its
neighbours in wording are the neutral and anti-bias comments about the same groups
(X人也是普通人, 别给X人贴标签). Learned together with the live room's short chat, these long
rows pulled the main model's thresholds up and cost it recall on ordinary insults and
offers, so they get a model of their own, trained by the same code
(``training.train_from_rows``) on the rows that name a group (``data/moderation/groups.txt``,
as ``detect.group_mention`` sees it); the main model learns from the other rows.

``detect._group_attack`` uses only this model's abuse score: a comment that names a group
and reaches its threshold goes to review as abuse, never to block. Beside the n-grams and
hits, the model sees the comment's sentiment (``classifier.sentiment_feature``): an attack on
a group reads no insult, but it reads negative, and the anti-bias comments about the same
group mostly do not. The threshold follows the classifier's own rule (the lowest score whose
out-of-fold precision reaches 0.9, clean rows weighted 6x: a live room's comments that name a
group are mostly greetings and chat, 河南的来报到), chosen on the project's rows only, never
on a public set. Rows written from one template share a fold (``training_data.TrainingRow.key``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from nlp_service.core.config import Settings
from nlp_service.moderation.classifier import ModerationClassifier, sentiment_feature
from nlp_service.moderation.detect import group_mention
from nlp_service.moderation.lexicon import Lexicon
from nlp_service.moderation.training import train_from_rows, weights_hash
from nlp_service.moderation.training_data import TrainingRow


def group_namer(settings: Settings, lexicon: Lexicon) -> tuple[Callable[[str], bool], Callable[[str], list[str]]]:
    """(whether a raw comment names a group of people as a word of its own, as detect sees it;
    the group model's extra features of a raw comment: its sentiment, as detect reads it)."""
    # imported here: analysis loads the trained sentiment model, trained before this step
    from nlp_service.analysis import Analyzer

    analyzer = Analyzer.load(settings)
    return (
        lambda text: group_mention(analyzer.analyze(text), lexicon) is not None,
        lambda text: [sentiment_feature(analyzer.analyze(text).sentiment.score)],
    )


def train_with_group_model(
    settings: Settings, rows: Sequence[TrainingRow], lexicon: Lexicon, *, log: Callable[[str], None] = print, **params: object
) -> tuple[ModerationClassifier, dict]:  # fmt: skip
    """The main model on the rows that name no group, the group model on the others (abuse or clean);
    returns the main model carrying the group model, and the main report with the group's."""
    names, extra = group_namer(settings, lexicon)
    naming = [names(r.text) for r in rows]
    # abuse against clean: a group-naming row of another category (an offer, an accusation)
    # stays the main model's business
    in_group = [n and r.categories <= {"abuse"} for r, n in zip(rows, naming, strict=True)]
    main_rows = [r for r, g in zip(rows, in_group, strict=True) if not g]
    group_rows = [r for r, g in zip(rows, in_group, strict=True) if g]
    model, report = train_from_rows(main_rows, lexicon, log=log, **params)  # type: ignore[arg-type]
    log(f"moderation: group model on {len(group_rows)} rows that name a group")
    group, group_report = train_from_rows(group_rows, lexicon, log=log, categories=("abuse",), extra=extra, **params)  # type: ignore[arg-type]
    model = dataclasses.replace(model, group=group)
    report["weights_hash"] = weights_hash(model)
    report["group_model"] = {**group_report, "rows": len(group_rows), "abuse_rows": sum("abuse" in r.categories for r in group_rows)}
    log(f"moderation: group-attack abuse threshold {group.thresholds['abuse']}")
    return model, report
