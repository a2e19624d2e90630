"""Ship the serving data and the models inside the wheel.

The repository keeps ``data/`` and ``models/`` at the top (training writes ``models/``, people
edit the word lists there), outside the package, where ``package-data`` cannot reach. This
build step copies what the service reads at run time into ``nlp_service/_data`` and
``nlp_service/_models`` of the build tree; ``core/config.py`` falls back to them when there is
no source checkout. An editable install reads the checkout directly, so nothing is copied.
Everything else lives in ``pyproject.toml``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent

# package folder -> (repository folder, the globs the service reads). The labelled, training,
# evaluation and review sets are for `train`/`eval` from a checkout and stay out of the wheel.
SHIPPED: dict[str, tuple[str, tuple[str, ...]]] = {
    "_data": ("data", ("userdict.txt", "stopwords.txt", "rules/*.yaml", "moderation/*.txt", "moderation/*.yaml")),
    "_models": ("models", ("*.weights.npz", "*.card.md")),
}


def copy_shipped(source_root: Path, package_dir: Path) -> list[Path]:
    """Copy the shipped files from ``source_root`` into ``package_dir``; return the copies."""
    written = []
    for folder, (source, globs) in SHIPPED.items():
        for pattern in globs:
            for path in sorted((source_root / source).glob(pattern)):
                target = package_dir / folder / path.relative_to(source_root / source)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
                written.append(target)
    return written


class BuildWithData(build_py):
    def run(self) -> None:
        super().run()
        if not self.editable_mode:
            self._shipped = copy_shipped(HERE, Path(self.build_lib) / "nlp_service")

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        return [*super().get_outputs(include_bytecode), *map(str, getattr(self, "_shipped", []))]


# The compiled inner loops of the comment path (see the file's opening comment). Optional:
# a machine without a C compiler still installs, and every caller falls back to the
# pure-Python formulation it replaced (tests/core/test_speedups.py says when it is missing).
SPEEDUPS = Extension("nlp_service.core._speedups", ["nlp_service/core/_speedups.c"], extra_compile_args=["-O2"], optional=True)


if __name__ == "__main__":  # setuptools runs this file as __main__; tests import copy_shipped
    setup(cmdclass={"build_py": BuildWithData}, ext_modules=[SPEEDUPS])
