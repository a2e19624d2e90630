"""Reading and writing model artifacts in ``models/``: one joblib file and one card per model."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from nlp_service.classify.linear import FastLinear
from nlp_service.core.errors import ModelNotTrainedError

_lock = threading.Lock()
_cache: dict[Path, tuple[float, dict[str, Any]]] = {}


def artifact_path(models_dir: Path, name: str) -> Path:
    return models_dir / f"{name}.joblib"


def card_path(models_dir: Path, name: str) -> Path:
    return models_dir / f"{name}.card.md"


def save(models_dir: Path, name: str, bundle: dict[str, Any]) -> Path:
    """Write ``bundle`` (a fitted pipeline plus metadata) to ``models/<name>.joblib``."""
    models_dir.mkdir(parents=True, exist_ok=True)
    path = artifact_path(models_dir, name)
    tmp = path.with_suffix(".tmp")
    joblib.dump(bundle, tmp, compress=3)
    tmp.replace(path)  # readers never see a half-written artifact
    with _lock:
        _cache.pop(path, None)
    return path


def load(models_dir: Path, name: str) -> dict[str, Any]:
    """The bundle saved under ``name`` (cached; reloaded when the file changes)."""
    path = artifact_path(models_dir, name)
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        raise ModelNotTrainedError(
            f"model {name!r} not found at {path}; run `nlp-service train` (or set NLP_SERVICE_MODELS_DIR)"
        ) from None
    with _lock:
        hit = _cache.get(path)
        if hit and hit[0] == mtime:
            return hit[1]
        bundle = joblib.load(path)
        bundle["fast"] = FastLinear.from_pipeline(bundle["pipeline"])
        _cache[path] = (mtime, bundle)
        return bundle


def weights_hash(fast: FastLinear) -> str:
    """A content hash of the learned weights: equal hashes mean equal models."""
    h = hashlib.sha256()
    for key in sorted(fast.vocabulary):
        h.update(key.encode("utf-8"))
        h.update(fast.vocabulary[key].to_bytes(4, "little"))
    for arr in (fast.idf, fast.weights, fast.intercept):
        h.update(np.ascontiguousarray(np.round(arr, 10)).tobytes())
    h.update("|".join(fast.classes).encode())
    return h.hexdigest()[:16]
