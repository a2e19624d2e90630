"""The command line's own options (the commands are tested with the code they call)."""

import pytest
from typer.testing import CliRunner

from nlp_service import __version__
from nlp_service.cli import app


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
