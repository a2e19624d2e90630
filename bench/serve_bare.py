"""The bare app of bench_http.py served as ``nlp-service serve --workers N`` serves the API:
with one worker ``uvicorn.run`` with serve's options (the bounded httptools protocol); with
more, the pre-fork master of api/prefork.py (loads, binds once, forks N workers). So the
ratio reply ÷ bare compares the two apps under the same server, not two servers.

    python bench/serve_bare.py PORT WORKERS
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from nlp_service.core.multiproc import enable_multiprocess


def serve_options() -> dict:
    """What cli.py's serve passes uvicorn (keep the two the same). Imported only when called:
    api/server.py imports the service (and prometheus-client), which a pre-fork master must
    not do before ``enable_multiprocess``."""
    from nlp_service.api.server import PROTOCOL

    return {"log_level": "info", "http": PROTOCOL}


def create(settings: object, analyzer: object = None) -> object:
    """Prefork's factory signature; the bare app ignores both."""
    from bench.bare_app import app

    return app


def main() -> None:
    port, workers = int(sys.argv[1]), int(sys.argv[2])
    if workers > 1:
        from nlp_service.core.config import get_settings

        enable_multiprocess(Path(get_settings().var_dir) / "metrics" / f"bare-{os.getpid()}")
        from nlp_service.api.prefork import Prefork

        sys.exit(Prefork(get_settings(), "127.0.0.1", port, workers, uvicorn_options=serve_options(), app_factory="bench.serve_bare:create").run())
    import uvicorn

    uvicorn.run("bench.bare_app:app", host="127.0.0.1", port=port, **serve_options())


if __name__ == "__main__":
    main()
