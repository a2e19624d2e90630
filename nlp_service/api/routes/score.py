"""POST /v1/score: label up to 10,000 comments in one request (role analyst), for notebooks
and dashboards. The same scoring as ``nlp-service score``."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from nlp_service.api.deps import AnalystKey, ServicesDep
from nlp_service.batch.labels import Labeler, score_rows
from nlp_service.moderation.lists import load_base_lexicon

router = APIRouter(prefix="/v1", tags=["score"])

MAX_SCORE_ROWS = 10_000


class ScoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comments: list[dict] = Field(min_length=1, max_length=MAX_SCORE_ROWS, description="rows with at least the text column")
    text_col: str = "text"


@router.post("/score")
def score(body: ScoreIn, _: AnalystKey, services: ServicesDep) -> dict:
    """Each row comes back with its columns plus sentiment, sentiment_score, intent,
    intent_confidence, keywords, moderation_action, moderation_categories; rows that
    cannot be scored are listed in ``rejects`` with their row number (1-based) and reason."""
    rows = [{**r, "__row__": i + 1} for i, r in enumerate(body.comments)]
    scored, rejects = score_rows(rows, body.text_col, Labeler(services.analyzer, load_base_lexicon(services.settings.data_dir), services.engine.moderation_model))
    return {"results": scored, "rejects": rejects}
