"""Start-up cache for big lookup tables derived from files (jieba's prefix dictionary with
our user dictionary, jieba's IDF table).

Building them from the text files costs about 1.5 s per process (jieba's initialise, a
log-probability per word, parsing 270k IDF lines); loading the finished table with
``marshal`` (the standard library's fastest loader for plain dicts of str/float) costs
0.1–0.3 s. Every process start pays this: the CLI, each ``serve`` worker, archive scoring.
The cache is keyed on the sources' paths, sizes and modification times, so an edited user
dictionary rebuilds it; a cache file that cannot be read or written is simply rebuilt.
"""

from __future__ import annotations

import hashlib
import marshal
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
_FORMAT = 1


def _fingerprint(sources: Sequence[Path]) -> tuple:
    out: list[object] = [_FORMAT]
    for path in sources:
        st = path.stat()
        out.append((str(path.resolve()), st.st_size, st.st_mtime_ns))
    return tuple(out)


def cached_table(cache_dir: Path, name: str, sources: Sequence[Path], build: Callable[[], T]) -> T:
    """``build()``'s result, from ``cache_dir/name.marshal`` when the sources are unchanged."""
    key = _fingerprint(sources)
    # one file per set of source paths: two installs sharing a home directory (two
    # virtualenvs, a checkout and a wheel) each keep theirs instead of rebuilding every start
    places = hashlib.blake2b(repr([k[0] for k in key[1:]]).encode(), digest_size=6).hexdigest()
    path = cache_dir / f"{name}-{places}.marshal"
    try:
        stored_key, value = marshal.loads(path.read_bytes())
        if stored_key == key:
            return value
    except (OSError, EOFError, ValueError, TypeError):
        pass  # missing, stale or damaged: rebuild
    value = build()
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(marshal.dumps((key, value)))
        tmp.replace(path)  # concurrent starters never read a half-written file
    except OSError:
        pass  # a read-only cache directory only costs start-up time
    return value
