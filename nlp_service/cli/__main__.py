"""``python -m nlp_service.cli``: the same command as ``nlp-service``."""

from nlp_service.cli import app

if __name__ == "__main__":  # pragma: no cover
    app()
