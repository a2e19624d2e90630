"""Commands on the models: ``analyze`` comments, ``train`` the models, ``eval`` them."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nlp_service.cli.base import _fail, _require, command, err
from nlp_service.core.errors import NlpServiceError

if TYPE_CHECKING:
    from nlp_service.moderation.classifier import ModerationClassifier


@command()
def analyze(
    texts: Annotated[list[str] | None, typer.Argument(help="comments; read one per line from stdin when omitted", metavar="TEXT")] = None,
    pretty: Annotated[bool, typer.Option(help="indent the JSON")] = False,
) -> None:
    """Analyse comments and print one JSON object per comment (JSON Lines)."""
    from nlp_service.analysis import Analyzer

    try:
        analyzer = Analyzer.load()
    except NlpServiceError as exc:
        _fail(exc)
    source = texts if texts else (line.rstrip("\n") for line in sys.stdin)
    for i, text in enumerate(source):
        try:
            out = analyzer.analyze(text).to_dict()
        except NlpServiceError as exc:
            out = {"index": i, "text": text, "error": {"type": getattr(exc, "reason", "error"), "message": str(exc)}}
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2 if pretty else None))


@command()
def train(
    only: Annotated[str | None, typer.Option(help="train just one model", metavar="[sentiment|intent|moderation]")] = None,
) -> None:
    """Rebuild the model artifacts in models/ (deterministic) and their model cards."""
    _require("train", "sklearn")
    from nlp_service.classify import training
    from nlp_service.moderation.training import train_moderation

    steps = {"sentiment": training.train_sentiment, "intent": training.train_intent, "moderation": train_moderation}
    if only is not None and only not in steps:
        _fail(ValueError(f"--only must be one of {sorted(steps)}, got {only!r}"))
    try:
        for name, step in steps.items():
            if only in (None, name):
                result = step(log=err.print)
                for split_name, m in result.metrics.items():
                    if "accuracy" in m:
                        typer.echo(f"{name}: {split_name}: accuracy {m['accuracy']:.4f} macro-F1 {m['macro_f1']:.4f} (n={m['n']})")
                    else:  # moderation: per-category precision/recall at the chosen threshold
                        typer.echo(f"{name}: {split_name}: precision {m['precision']:.4f} recall {m['recall']:.4f} (n={m['support']})")
                typer.echo(f"{name}: weights hash {result.weights_hash}")
    except NlpServiceError as exc:
        _fail(exc)


@command("eval")
def evaluate(
    data: Annotated[Path | None, typer.Option(help="a public text,label CSV to evaluate on (evaluation only)", metavar="FILE")] = None,
    baseline: Annotated[bool, typer.Option(help="score SnowNLP on the same rows")] = True,
    limit: Annotated[int | None, typer.Option(help="evaluate at most this many rows of --data", metavar="INTEGER")] = None,
    moderation_model: Annotated[bool, typer.Option(help="moderate with the trained classifier (off: word lists alone)")] = True,
) -> None:
    """Accuracy, macro-F1, per-class report and confusion matrix, ours beside SnowNLP;
    moderation precision/recall per category; with --data, a public set (a safe/offensive
    set such as COLD is scored for moderation, a positive/negative set for sentiment)."""
    _require("train", "sklearn", "snownlp")
    from nlp_service.classify import evaluate as ev

    if data is not None and _is_offensive_set(data):
        _eval_moderation_public(data, limit, moderation_model)
        return
    try:
        if data is None:
            sections = ev.evaluate_all(baseline=baseline, log=err.print)
        else:
            sections, counts = ev.evaluate_public(data, baseline=baseline, limit=limit)
            typer.echo(
                f"{data.name}: {counts['rows']} rows, {counts['dropped_in_training_data']} dropped because their "
                f"text is in our training data, {counts['evaluated']} evaluated"
            )
    except NlpServiceError as exc:
        _fail(exc)
    for title, m in sections:
        typer.echo(f"\n== {title}\naccuracy {m['accuracy']:.4f}  macro-F1 {m['macro_f1']:.4f}  n={m['n']}")
        typer.echo(m["report"].rstrip())
        typer.echo(ev.format_confusion(m))
    if data is None:
        _eval_moderation_own(moderation_model)
        _eval_queues(moderation_model)
    elif "neutral" in _labels_of(data):
        _eval_moderation_chatter(data, limit, moderation_model)


def _labels_of(path: Path) -> set[str]:
    """The distinct values of a CSV's ``label`` column (empty when it has none)."""
    import csv

    try:
        with path.open(encoding="utf-8", newline="") as fh:
            return {(row.get("label") or "").strip() for row in csv.DictReader(fh)} - {""}
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        _fail(exc)


def _is_offensive_set(path: Path) -> bool:
    return bool(_labels_of(path) & {"safe", "offensive"})


def _moderation_model(use: bool) -> ModerationClassifier | None:
    from nlp_service.core.config import get_settings
    from nlp_service.moderation.classifier import load

    model = load(get_settings().models_dir) if use else None
    err.print(f"moderation: {'word lists + classifier' if model else 'word lists alone'}")
    return model


def _eval_moderation_own(use_model: bool = True) -> None:
    from nlp_service.analysis import Analyzer
    from nlp_service.moderation.evaluate import evaluate_own

    try:
        result = evaluate_own(Analyzer.load(), classifier=_moderation_model(use_model))
    except NlpServiceError as exc:
        _fail(exc)
    typer.echo("\n== moderation · data/moderation/eval/labelled.tsv (written independently of the word lists)")
    typer.echo(f"{'category':15s} {'precision':>9s} {'recall':>7s} {'f1':>6s} {'support':>7s} {'evasion recall':>15s}")
    for c, m in result["categories"].items():
        ev_r = "-" if m["evasion_recall"] is None else f"{m['evasion_recall']:.3f} (n={m['evasion_support']})"
        typer.echo(f"{c:15s} {m['precision']:9.3f} {m['recall']:7.3f} {m['f1']:6.3f} {m['support']:7d} {ev_r:>15s}")
    typer.echo(f"harmless comments flagged: {result['harmless_flagged']} of {result['harmless_total']} ({result['clean_flagged_share']:.1%}; target ≤ 5 %)")
    typer.echo(f"harmful comments flagged at all (flag recall): {result['flag_recall']:.3f} (target ≥ 0.90)")


DEMO_EVAL_ROWS = 20_000  # the demo archive's generator (seed 7) at a tenth of its default size


def _eval_queues(use_model: bool = True) -> None:
    """The queue's load on the recorded sample room and on a demo archive: comments flagged,
    and the queue items a moderator sees with the service's grouping (target ≤ 3 %, on items)."""
    from nlp_service.analysis import Analyzer
    from nlp_service.batch.demo import generate
    from nlp_service.moderation.evaluate import StreamComment, evaluate_queue

    analyzer, model = Analyzer.load(), _moderation_model(use_model)
    s = analyzer.settings
    room = s.data_dir / "replay" / "sample_room.jsonl"
    rows = (json.loads(line) for line in room.read_text(encoding="utf-8").splitlines() if line.strip())
    streams = {
        f"data/replay/{room.name}": (StreamComment(r["text"], r.get("ts"), r.get("room", ""), r.get("user", "")) for r in rows),
        f"demo archive ({DEMO_EVAL_ROWS:,} rows, seed 7)": (
            StreamComment(*row) for table in generate(rows=DEMO_EVAL_ROWS) for row in zip(*(table.column(c).to_pylist() for c in ("text", "ts", "room", "user")), strict=True)
        ),
    }
    for name, comments in streams.items():
        try:
            r = evaluate_queue(analyzer, comments, model, s.queue_group_seconds, s.queue_group_max)
        except NlpServiceError as exc:
            _fail(exc)
        typer.echo(f"\n== moderation queue · {name}: {r['comments']} comments")
        typer.echo(f"comments flagged (review + block): {r['queued']} ({r['queued_share']:.2%})")
        typer.echo(
            f"queue items a moderator sees: {r['items']} ({r['items_share']:.2%} of comments; target ≤ 3 %, read on items) — "
            f"a storm of one text in a room within {r['group_seconds']} s is one item (NLP_SERVICE_QUEUE_GROUP_SECONDS)"
        )
        typer.echo("  first category: " + ", ".join(f"{c} {n}" for c, n in r["by_category"].items()))
        if r["largest_items"]:
            typer.echo("  largest items: " + ", ".join(f"{i['text']} ×{i['repeats']} ({i['users']} user{'s' if i['users'] != 1 else ''})" for i in r["largest_items"]))


def _eval_moderation_chatter(data: Path, limit: int | None, use_model: bool = True) -> None:
    from nlp_service.analysis import Analyzer
    from nlp_service.moderation.evaluate import evaluate_chatter

    try:
        result = evaluate_chatter(Analyzer.load(), data, limit, _moderation_model(use_model))
    except NlpServiceError as exc:
        _fail(exc)
    typer.echo(f"\n== moderation · chatter (label neutral) of {data.name}: {result['chatter_rows']} rows")
    typer.echo(f"flagged {result['flagged_share']:.2%} (target ≤ 2 %), blocked {result['blocked_share']:.2%} (target ≤ 0.2 %)")
    for ex in result["flagged"][:20]:
        typer.echo(f"  {ex['action']:6s} {','.join(ex['categories']):20s} {ex['text'][:60]}")


def _eval_moderation_public(data: Path, limit: int | None, use_model: bool = True) -> None:
    from nlp_service.analysis import Analyzer
    from nlp_service.moderation.evaluate import evaluate_offensive

    try:
        result = evaluate_offensive(Analyzer.load(), data, limit, _moderation_model(use_model))
    except NlpServiceError as exc:
        _fail(exc)
    typer.echo(f"== moderation · {data.name} (evaluation only), {result['rows']} rows")
    typer.echo(json.dumps({k: v for k, v in result.items() if k != "rows"}, ensure_ascii=False, indent=2))

