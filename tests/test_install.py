"""The serving install needs no extra: the service's modules import none of them."""

import subprocess
import sys

EXTRAS_ONLY = ("sklearn", "scipy", "snownlp", "pyarrow", "plotly", "dask", "pandas", "joblib")


def test_serving_modules_import_no_extra() -> None:
    code = (
        "import sys\n"
        "import nlp_service, nlp_service.cli\n"
        "from nlp_service.api.app import create_app\n"
        "import nlp_service.console.app\n"
        "import nlp_service.api.routes.score, nlp_service.live.engine, nlp_service.replay\n"
        "nlp_service.analyze('几号链接'); nlp_service.moderate('加薇信领福利')\n"
        f"print(','.join(m for m in {EXTRAS_ONLY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.strip().splitlines()[-1:] in ([], [""]), out.stdout
