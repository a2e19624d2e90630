"""Write ``constraints.txt``: the exact versions installed here of the project's dependency tree.

    python tools/freeze_constraints.py > constraints.txt

Run it with the interpreter of a virtualenv where ``pip install -e ".[test]"`` passed the suite.
Walks the requirements of ``nlp-service`` (every extra) through the installed distributions, so
unrelated packages in the environment (and pip itself) stay out.
"""

from __future__ import annotations

import sys
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = "nlp-service"
# installers, not dependencies: pinning setuptools would fight pyproject's build requirement
NOT_PINNED = {"pip", "setuptools", "wheel"}


def _requirements(dist: metadata.Distribution, extras: set[str]) -> list[Requirement]:
    out = []
    for line in dist.requires or []:
        req = Requirement(line)
        # the marker is evaluated for this machine, once per extra asked for
        if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in extras | {""}):
            out.append(req)
    return out


def dependency_tree(root: str = ROOT) -> dict[str, str]:
    """Canonical name → installed version of everything ``root[all extras]`` pulls in."""
    top = metadata.distribution(root)
    todo = [(top, set(top.metadata.get_all("Provides-Extra") or []))]
    seen: dict[str, str] = {}
    walked: set[tuple[str, frozenset[str]]] = set()  # a second path may ask for other extras
    while todo:
        dist, extras = todo.pop()
        for req in _requirements(dist, extras):
            name = canonicalize_name(req.name)
            try:
                dep = metadata.distribution(req.name)
            except metadata.PackageNotFoundError:
                continue  # an optional dependency not installed here: nothing to pin
            key = (name, frozenset(req.extras))
            if name == canonicalize_name(root) or name in NOT_PINNED or key in walked:
                continue
            walked.add(key)
            seen[name] = dep.version
            todo.append((dep, set(req.extras)))
    return seen


def main() -> None:
    print("# Versions the test suite passed with (tools/freeze_constraints.py). Used as")
    print('# pip install -c constraints.txt ".[test]"; pyproject.toml keeps the ranges.')
    for name, version in sorted(dependency_tree().items()):
        print(f"{name}=={version}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
