"""The command line's own options (the commands are tested with the code they call)."""

import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
import typer
from typer.testing import CliRunner

from nlp_service import __version__
from nlp_service.cli import RESUME_HINT, app


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_short_and_long_help(flag: str) -> None:
    result = CliRunner().invoke(app, [flag])
    assert result.exit_code == 0, result.output
    assert "serve" in result.output and "replay" in result.output


def test_help_on_a_command_takes_the_short_flag_too() -> None:
    result = CliRunner().invoke(app, ["serve", "-h"])
    assert result.exit_code == 0, result.output
    assert "--port" in result.output


def test_version_prints_the_package_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"nlp-service {__version__}"


def _commands() -> dict[str, click.Command]:
    return typer.main.get_command(app).commands  # type: ignore[attr-defined]


def test_every_option_and_argument_has_help() -> None:
    missing = [f"{name} {p.name}" for name, cmd in _commands().items() for p in cmd.params if not getattr(p, "help", None)]
    assert missing == []


@pytest.mark.parametrize("name", ["analyze", "train", "eval", "serve", "replay", "score", "report", "demo-archive"])
def test_help_shows_conventional_metavars(name: str) -> None:
    result = CliRunner().invoke(app, [name, "-h"])
    assert result.exit_code == 0, result.output
    for typer_style in ("<path>", "<str>", "<int", "<float", "<bool>", "{"):
        assert typer_style not in result.output, (typer_style, result.output)


def test_score_names_its_file_and_integers() -> None:
    output = CliRunner().invoke(app, ["score", "-h"]).output
    assert "score [OPTIONS] FILE" in output
    assert re.search(r"--output\s+FILE", output) and re.search(r"--chunk-rows\s+INTEGER", output), output


def test_errors_are_plain_text_when_not_a_terminal() -> None:
    out = subprocess.run([sys.executable, "-m", "nlp_service.cli", "score"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert "Missing argument 'FILE'" in out.stderr
    assert "\x1b[" not in out.stderr and "╭" not in out.stderr, out.stderr


def test_ctrl_c_during_score_prints_the_resume_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pyarrow")  # the [batch] extra
    from nlp_service.batch import score as score_mod

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(score_mod, "score_file", interrupted)
    src = tmp_path / "in.csv"
    src.write_text("text\n几号链接\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["score", str(src), "-o", str(tmp_path / "out.csv"), "--quiet"])
    assert result.exit_code == 130, result.output
    assert RESUME_HINT in result.output


def test_engine_is_a_choice_named_in_help_and_checked_before_any_work(tmp_path) -> None:
    archive = tmp_path / "a.csv"
    archive.write_text("text\n来了\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(app, ["score", str(archive), "-o", str(out), "--engine", "spark"])
    assert result.exit_code == 2 and "spark" in result.output and "local" in result.output
    assert not out.exists()
    assert "[local|dask]" in CliRunner().invoke(app, ["score", "-h"]).output


def test_score_freezes_the_collector_only_at_exit_and_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The wind-down cut (cli/archive.py): ``gc.freeze`` is left to atexit, registered once
    however many runs, and an in-process caller keeps a working collector meanwhile."""
    pytest.importorskip("pyarrow")  # the [batch] extra
    import atexit
    import gc

    from nlp_service.batch import score as score_mod

    registered: list[object] = []
    monkeypatch.setattr(atexit, "register", registered.append)
    monkeypatch.setattr(atexit, "unregister", lambda f: registered.remove(f) if f in registered else None)
    monkeypatch.setattr(score_mod, "score_file", lambda *a, **k: score_mod.ScoreSummary())
    src = tmp_path / "in.csv"
    src.write_text("text\n几号链接\n", encoding="utf-8")
    for _ in range(2):
        result = CliRunner().invoke(app, ["score", str(src), "-o", str(tmp_path / "out.csv"), "--quiet"])
        assert result.exit_code == 0, result.output
    assert registered == [gc.freeze]
    assert gc.get_freeze_count() == 0 and gc.isenabled()
