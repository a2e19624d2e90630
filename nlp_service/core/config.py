"""The one settings class: every knob of the service lives here, nothing else reads os.environ."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# The source checkout: data/ and models/ sit beside the package.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    """Service settings, read from the environment with the ``NLP_SERVICE_`` prefix."""

    model_config = SettingsConfigDict(env_prefix="NLP_SERVICE_", extra="ignore")

    data_dir: Path = Field(PROJECT_ROOT / "data", description="dictionaries, word lists, labelled data")
    models_dir: Path = Field(PROJECT_ROOT / "models", description="trained artifacts and model cards")
    cache_dir: Path = Field(
        Path.home() / ".cache" / "nlp_service",
        description="writable place for jieba's start-up cache",
    )
    max_text_length: int = Field(2000, ge=1, description="longest comment accepted, in characters")
    segment_hmm: bool = Field(
        False,
        description="jieba HMM for unknown words; off by default: the user dictionary covers "
        "live-room vocabulary and HMM costs ~40% of segmentation time",
    )
    keywords_top_k: int = Field(5, ge=0, le=50, description="keywords returned per comment")

    @property
    def userdict_path(self) -> Path:
        return self.data_dir / "userdict.txt"

    @property
    def stopwords_path(self) -> Path:
        return self.data_dir / "stopwords.txt"

    @property
    def labelled_dir(self) -> Path:
        return self.data_dir / "labelled"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests build their own ``Settings`` instead)."""
    return Settings()
