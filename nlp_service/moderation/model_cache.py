"""The moderation classifier as the start-up cache keeps it, for processes that start often
(``score``: every run loads it before its workers fork).

Reading ``moderation.weights.npz`` costs ~40 ms of every start: decompressing the two
models' 70,000 terms and their rows, a str per term, then a C table of them. Here each model
is kept as its C table (``StrTable.dump``), its matrix (float64, read in place) and its terms
in row order (``marshal``), mapped by ``core/tablecache.mapped`` and keyed, like every cache
there, on the weights file's path, size and modification time: a retrained model rebuilds it.
The classifier read back equals the one read from the file
(``tests/moderation/test_model_cache.py``).
"""

from __future__ import annotations

import marshal
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from nlp_service.classify import artifacts
from nlp_service.core.speedups import StrTable
from nlp_service.core.tablecache import mapped
from nlp_service.moderation.classifier import ModerationClassifier, from_arrays, weights_path
from nlp_service.moderation.classifier import load as load_from_file

_BLOCKS = 3  # per model: C table, matrix, terms


def load(models_dir: Path, cache_dir: Path) -> ModerationClassifier | None:
    """:func:`classifier.load`, from the start-up cache in ``cache_dir`` when the weights file
    is unchanged (cached per process as well; None when no model has been trained)."""
    if StrTable is None:  # no C tables to map: the file as always
        return load_from_file(models_dir)
    path = weights_path(models_dir)
    try:
        return artifacts.load_cached(path, lambda p: mapped(cache_dir, "moderation-model", [p], "moderation", _from_blocks, lambda: _for_cache(p)))
    except FileNotFoundError:
        return None


def _for_cache(path: Path) -> tuple[ModerationClassifier, list[bytes], list[tuple]]:
    """The classifier read from its file, with the blocks and the extra :func:`_from_blocks` reads."""
    with np.load(path, allow_pickle=False) as z:
        model = from_arrays(z)
    blocks: list[bytes] = []
    extra: list[tuple] = []
    for m in (model, model.group) if model.group is not None else (model,):
        terms = sorted(m.vocabulary, key=m.vocabulary.__getitem__)  # row order: rows are 0..n-1 (from_arrays)
        blocks += [m.vocabulary_table.dump(), np.ascontiguousarray(m.matrix, dtype=np.float64).tobytes(), marshal.dumps(terms)]
        extra.append((m.matrix.shape, m.intercept.tolist(), m.categories, m.thresholds, m.meta))
    return model, blocks, extra


def _from_blocks(blocks: list[memoryview], extra: list[Any]) -> ModerationClassifier:
    group = None
    for i in reversed(range(len(extra))):  # the group model first: the main one holds it
        table, matrix, terms = blocks[i * _BLOCKS : (i + 1) * _BLOCKS]
        shape, intercept, categories, thresholds, meta = extra[i]
        group = _MappedClassifier(
            terms,
            matrix=np.frombuffer(matrix, dtype=np.float64).reshape(shape),  # read-only, shared through the page cache
            intercept=np.array(intercept, dtype=np.float64),
            categories=tuple(categories),
            thresholds=dict(thresholds),
            meta=dict(meta),
            group=group,
            table=StrTable.frombuffer(table),
        )
    return group


class _MappedClassifier(ModerationClassifier):
    """A :class:`ModerationClassifier` whose ``vocabulary`` dict is made from its terms on
    first use: scoring looks features up in the C table (``rows_of``, ``scores_of``), so a
    scoring process never pays the ~13 ms of 70,000 strs and a dict."""

    def __init__(self, terms: memoryview | None = None, *, table: StrTable | None = None, **fields: Any) -> None:
        # frozen: the fields set as the dataclass's own __init__ sets them (``dataclasses.replace``
        # comes here too, with a ``vocabulary`` and no terms)
        for name, value in fields.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_terms", terms)
        self.__post_init__(table)

    @cached_property
    def vocabulary(self) -> dict[str, int]:  # type: ignore[override]
        words = marshal.loads(self._terms)
        return dict(zip(words, range(len(words)), strict=True))
