"""Reading and writing model artifacts in ``models/``.

Each model is saved twice, from the same fit:

* ``<name>.joblib``: the fitted scikit-learn pipeline and its metadata. ``nlp-service eval``
  and the fast-path equality test load it.
* ``<name>.weights.npz``: the fast path's arrays (vocabulary, idf, weights, intercept,
  classes) and the metadata as JSON. This is all the service and the batch workers load:
  no scikit-learn import and no unpickling of estimators, which cuts about 2.5 s from every
  process start (the CLI, ``serve`` workers, archive scoring). ``allow_pickle=False``: a
  weights file can hold data only, never code.

A process that scores through the fused table (``FusedLinear``, mapped from the start-up
cache) needs only a model's classes, intercept and flags: :func:`load` reads those and
leaves the vocabulary and weights (~50 ms of decompressing, a str per term and a dict, for
the three models at every start) to the first use (:class:`_LazyFastLinear`).
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from nlp_service.classify.linear import FastLinear
from nlp_service.core.errors import ModelNotTrainedError

_lock = threading.Lock()
_cache: dict[Path, tuple[float, Any]] = {}
T = TypeVar("T")


def load_npz(path: Path, build: Callable[[Any], T]) -> T:
    """``build(arrays)`` of the ``.npz`` file at ``path`` (no pickles), cached per path and
    reloaded when the file changes. Raises ``FileNotFoundError`` when there is none."""

    def read(p: Path) -> T:
        with np.load(p, allow_pickle=False) as z:
            return build(z)

    return load_cached(path, read)


def load_cached(path: Path, read: Callable[[Path], T]) -> T:
    """``read(path)``, cached per path and read again when the file changes (``read`` must
    not come back here: the lock is held). Raises ``FileNotFoundError`` when there is none."""
    mtime = path.stat().st_mtime
    with _lock:
        hit = _cache.get(path)
        if hit and hit[0] == mtime:
            return hit[1]
        value = read(path)
        _cache[path] = (mtime, value)
        return value


def forget(path: Path) -> None:
    """Drop the cached load of ``path`` (after writing a new one)."""
    with _lock:
        _cache.pop(path, None)


def artifact_path(models_dir: Path, name: str) -> Path:
    return models_dir / f"{name}.joblib"


def weights_path(models_dir: Path, name: str) -> Path:
    return models_dir / f"{name}.weights.npz"


def card_path(models_dir: Path, name: str) -> Path:
    return models_dir / f"{name}.card.md"


def save(models_dir: Path, name: str, pipeline: Any, meta: dict[str, Any]) -> tuple[FastLinear, str]:
    """Write the fitted ``pipeline`` and its fast-path weights, with ``meta`` plus the
    weights hash; returns the fast path and that hash."""
    import joblib

    models_dir.mkdir(parents=True, exist_ok=True)
    fast = FastLinear.from_pipeline(pipeline)
    digest = weights_hash(fast)
    meta = {**meta, "weights_hash": digest}
    path = artifact_path(models_dir, name)
    tmp = path.with_suffix(".tmp")
    joblib.dump({"pipeline": pipeline, "meta": meta}, tmp, compress=3)
    tmp.replace(path)  # readers never see a half-written artifact
    vocab = sorted(fast.vocabulary, key=fast.vocabulary.__getitem__)  # column order
    wpath = weights_path(models_dir, name)
    with wpath.with_suffix(".tmp").open("wb") as fh:
        np.savez_compressed(
            fh,
            vocabulary=np.array(vocab, dtype=str),
            idf=fast.idf,
            weights=fast.weights,
            intercept=fast.intercept,
            classes=np.array(fast.classes, dtype=str),
            flags=np.array([fast.sublinear_tf, fast.binary]),
            meta=np.array(json.dumps(meta, ensure_ascii=False)),
        )
    wpath.with_suffix(".tmp").replace(wpath)
    forget(wpath)
    return fast, digest


def _missing(name: str, path: Path) -> ModelNotTrainedError:
    return ModelNotTrainedError(f"model {name!r} not found at {path}; run `nlp-service train` (or set NLP_SERVICE_MODELS_DIR)")


def load(models_dir: Path, name: str) -> dict[str, Any]:
    """``{"fast": FastLinear, "meta": dict}`` for ``name`` (cached; reloaded when the file
    changes). The model's vocabulary and weights are read on first use."""
    path = weights_path(models_dir, name)
    try:
        return load_npz(path, _lazy_bundle)
    except FileNotFoundError:
        raise _missing(name, path) from None


class _LazyFastLinear(FastLinear):
    """A :class:`FastLinear` whose vocabulary, idf and weights are decompressed on first use,
    from the bytes of the file its classes, intercept and flags came from (held, so a model
    retrained meanwhile cannot mix with this one). Equal to the model :func:`_bundle` reads
    (``tests/classify/test_artifacts.py``)."""

    def __init__(self, data: bytes, classes: tuple[str, ...], intercept: np.ndarray, sublinear_tf: bool, binary: bool) -> None:
        # frozen dataclass: the fields are set as its own __init__ sets them
        for name, value in (("classes", classes), ("intercept", intercept), ("sublinear_tf", sublinear_tf), ("binary", binary), ("_data", data)):
            object.__setattr__(self, name, value)

    @cached_property
    def _full(self) -> FastLinear:
        with np.load(io.BytesIO(self._data), allow_pickle=False) as z:
            full = _bundle(z)["fast"]
        object.__setattr__(self, "_data", b"")  # read once: the compressed copy is not needed again
        return full

    vocabulary = property(lambda self: self._full.vocabulary)  # type: ignore[assignment]
    idf = property(lambda self: self._full.idf)  # type: ignore[assignment]
    weights = property(lambda self: self._full.weights)  # type: ignore[assignment]


def _lazy_bundle(z: Any) -> dict[str, Any]:
    """:func:`_bundle` with the model's big arrays left compressed until first use: the small
    members are read now, and the whole file's bytes kept (a few MB; read through the handle
    ``np.load`` opened, so they are the file those members came from)."""
    z.fid.seek(0)
    data = z.fid.read()
    sublinear, binary = (bool(x) for x in z["flags"])
    fast = _LazyFastLinear(data, tuple(z["classes"].tolist()), z["intercept"], sublinear, binary)
    return {"fast": fast, "meta": json.loads(str(z["meta"]))}


def _bundle(z: Any) -> dict[str, Any]:
    vocab = z["vocabulary"].tolist()
    sublinear, binary = (bool(x) for x in z["flags"])
    fast = FastLinear(
        vocabulary=dict(zip(vocab, range(len(vocab)), strict=True)),
        idf=z["idf"],
        weights=np.ascontiguousarray(z["weights"]),
        intercept=z["intercept"],
        classes=tuple(z["classes"].tolist()),
        sublinear_tf=sublinear,
        binary=binary,
    )
    return {"fast": fast, "meta": json.loads(str(z["meta"]))}


def load_pipeline(models_dir: Path, name: str) -> Any:
    """The fitted scikit-learn pipeline behind ``name`` (for evaluation and equality tests)."""
    import joblib

    path = artifact_path(models_dir, name)
    if not path.exists():
        raise _missing(name, path)
    return joblib.load(path)["pipeline"]


def content_hash(vocabulary: Mapping[str, int], arrays: Sequence[np.ndarray], tail: bytes) -> str:
    """A content hash of a fitted linear model, for every model card: its vocabulary (term →
    column), its weight arrays rounded to 10 decimals (so a last-bit difference in BLAS does
    not change it), then ``tail`` (what else defines the model: classes, thresholds)."""
    h = hashlib.sha256()
    for key in sorted(vocabulary):
        h.update(key.encode("utf-8"))
        h.update(vocabulary[key].to_bytes(4, "little"))
    for arr in arrays:
        h.update(np.ascontiguousarray(np.round(arr, 10)).tobytes())
    h.update(tail)
    return h.hexdigest()[:16]


def weights_hash(fast: FastLinear) -> str:
    """A content hash of the learned weights: equal hashes mean equal models."""
    return content_hash(fast.vocabulary, (fast.idf, fast.weights, fast.intercept), "|".join(fast.classes).encode())
