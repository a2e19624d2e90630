"""An installed wheel finds its data and models inside the package (no NLP_SERVICE_*_DIR)."""

from __future__ import annotations

import runpy
from pathlib import Path

import nlp_service
from nlp_service.analysis import Analyzer
from nlp_service.core.config import (
    PROJECT_ROOT,
    Settings,
    default_var_dir,
    is_checkout,
    resource_dir,
)
from nlp_service.moderation.lists import load_base_lexicon, load_replies

PACKAGE = Path(nlp_service.__file__).parent


def test_a_checkout_reads_the_repository_folders() -> None:
    assert is_checkout()
    assert resource_dir("data") == PROJECT_ROOT / "data"
    assert resource_dir("models") == PROJECT_ROOT / "models"


def test_without_a_checkout_the_package_copies_are_used(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"  # what parents[2] of config.py is in an installed wheel
    site.mkdir()
    (site / "data").mkdir()  # a stray data/ beside the package is not a checkout
    assert not is_checkout(site)
    assert resource_dir("data", site) == PACKAGE / "_data"
    assert resource_dir("models", site) == PACKAGE / "_models"
    assert default_var_dir(site) == Path.home() / ".local" / "state" / "nlp_service"


def test_the_wheel_copy_holds_what_the_service_reads(tmp_path: Path) -> None:
    copy_shipped = runpy.run_path(str(PROJECT_ROOT / "setup.py"), run_name="setup_under_test")["copy_shipped"]
    written = copy_shipped(PROJECT_ROOT, tmp_path)
    names = {p.relative_to(tmp_path).as_posix() for p in written}
    assert {"_data/userdict.txt", "_data/stopwords.txt", "_data/rules/seed_rules.yaml",
            "_data/moderation/replies.yaml", "_models/intent.weights.npz"} <= names
    assert not any("labelled" in n or "/train/" in n or "/eval/" in n or n.endswith(".joblib") for n in names)

    settings = Settings(data_dir=tmp_path / "_data", models_dir=tmp_path / "_models", cache_dir=tmp_path / "cache")
    assert settings.seed_rules_file.is_file()
    assert load_base_lexicon(settings.data_dir) is not None and load_replies(settings.data_dir)
    analysis = Analyzer.load(settings).analyze("几号链接")
    assert analysis.intent.label == "ask_link"


def test_the_wheel_carries_every_console_template_and_static_file() -> None:
    import glob
    import tomllib

    globs = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]["nlp_service.console"]
    console = PACKAGE / "console"
    shipped = {p for pattern in globs for p in glob.glob(pattern, root_dir=console)}
    present = {p.relative_to(console).as_posix() for p in console.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".py"}
    assert present and present <= shipped, sorted(present - shipped)
    assert {"templates/moderate.html", "static/js/moderate.js", "static/vendor/fetch-event-source/LICENSE"} <= present
