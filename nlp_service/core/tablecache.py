"""Start-up cache for big lookup tables derived from files (jieba's prefix dictionary with
our user dictionary, jieba's IDF table).

Building them from the text files costs about 1.5 s per process (jieba's initialise, a
log-probability per word, parsing 270k IDF lines); loading the finished table with
``marshal`` (the standard library's fastest loader for plain dicts of str/float) costs
0.1–0.3 s. Every process start pays this: the CLI, each ``serve`` worker, archive scoring.
The cache is keyed on the sources' paths, sizes and modification times, so an edited user
dictionary rebuilds it; a cache file that cannot be read or written is simply rebuilt.

With the compiled extension, a table that only answers lookups (str → float) need not be
loaded at all: :func:`mapped_table` keeps it as the C table's own arrays (``StrTable.dump``)
and maps the file (``StrTable.frombuffer`` over an ``mmap``): start-up is an ``mmap`` call
instead of ~0.3 s of unmarshalling 600,000 keys and building the table from them, and every
process that maps the file (``serve`` workers, scoring workers, two services on one host)
shares its pages through the page cache.
"""

from __future__ import annotations

import hashlib
import marshal
import mmap
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from nlp_service.core.speedups import StrTable

T = TypeVar("T")
_FORMAT = 1
_HEAD = 8  # a mapped file: the length of its marshalled (key, extra, block sizes), then that, then the blocks


def _fingerprint(sources: Sequence[Path]) -> tuple:
    out: list[object] = [_FORMAT]
    for path in sources:
        st = path.stat()
        out.append((str(path.resolve()), st.st_size, st.st_mtime_ns))
    return tuple(out)


def _cache_file(cache_dir: Path, name: str, key: tuple, suffix: str) -> Path:
    # one file per set of source paths: two installs sharing a home directory (two
    # virtualenvs, a checkout and a wheel) each keep theirs instead of rebuilding every start
    places = hashlib.blake2b(repr([k[0] for k in key[1:]]).encode(), digest_size=6).hexdigest()
    return cache_dir / f"{name}-{places}.{suffix}"


def _write_atomically(path: Path, *chunks: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
        tmp.replace(path)  # concurrent starters never read a half-written file
    except OSError:
        pass  # a read-only cache directory only costs start-up time


def cached_table(cache_dir: Path, name: str, sources: Sequence[Path], build: Callable[[], T]) -> T:
    """``build()``'s result, from ``cache_dir/name.marshal`` when the sources are unchanged."""
    key = _fingerprint(sources)
    path = _cache_file(cache_dir, name, key, "marshal")
    try:
        stored_key, value = marshal.loads(path.read_bytes())
        if stored_key == key:
            return value
    except (OSError, EOFError, ValueError, TypeError):
        pass  # missing, stale or damaged: rebuild
    value = build()
    _write_atomically(path, marshal.dumps((key, value)))
    return value


def mapped_table(cache_dir: Path, name: str, sources: Sequence[Path], build: Callable[[], tuple[Mapping[str, float | None], Any]]) -> tuple[Any, Any]:
    """(``StrTable`` of ``build()``'s mapping, its extra value), the table mapped from
    ``cache_dir/name.mapped`` when the sources are unchanged. ``extra`` is any marshallable
    value kept beside the table (a median, a log-probability). Without the compiled
    extension: :func:`cached_table` of the same (a dict; both answer ``.get``)."""
    if StrTable is None:
        return cached_table(cache_dir, name, sources, build)

    def build_table() -> tuple[tuple[Any, Any], list[bytes], Any]:
        mapping, extra = build()
        table = StrTable(dict(mapping))
        return (table, extra), [table.dump()], extra

    # ".mapped", not the ".strtable" of the layout before block sizes: a version of the
    # project from before, sharing the cache folder, keeps its file instead of each
    # rewriting the other's at every start
    return mapped(cache_dir, name, sources, "mapped", lambda blobs, extra: (StrTable.frombuffer(blobs[0]), extra), build_table)


def mapped(
    cache_dir: Path, name: str, sources: Sequence[Path], suffix: str,
    load: Callable[[list[memoryview], Any], T], build: Callable[[], tuple[T, list[bytes], Any]],
) -> T:  # fmt: skip
    """A value kept as blocks of bytes mapped from ``cache_dir/name.<suffix>`` (each block
    aligned to 8 bytes, so a C table or a float64 array reads it in place): ``load(blocks,
    extra)`` when the sources are unchanged, else ``build()``'s (value, blocks, extra), the
    blocks and ``extra`` (marshallable) written for the next start. ``load`` raising
    ``ValueError`` or ``TypeError`` (a damaged or stale file) means: rebuild."""
    key = _fingerprint(sources)
    path = _cache_file(cache_dir, name, key, suffix)
    try:
        with path.open("rb") as fh:
            mapped_file = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        size = int.from_bytes(mapped_file[:_HEAD], "little")
        stored_key, extra, sizes = marshal.loads(mapped_file[_HEAD : _HEAD + size])
        if stored_key == key:
            view, at, blobs = memoryview(mapped_file), _HEAD + size, []
            for n in sizes:
                at = _pad(at)
                if at + n > len(view):
                    raise ValueError("truncated")
                blobs.append(view[at : at + n])
                at += n
            return load(blobs, extra)
    except (OSError, EOFError, ValueError, TypeError):
        pass  # missing, stale or damaged: rebuild
    value, blobs, extra = build()
    head = marshal.dumps((key, extra, [len(b) for b in blobs]))
    chunks, at = [len(head).to_bytes(_HEAD, "little"), head], _HEAD + len(head)
    for blob in blobs:
        chunks += [bytes(_pad(at) - at), blob]
        at = _pad(at) + len(blob)
    _write_atomically(path, *chunks)
    return value


def _pad(n: int) -> int:
    """``n`` rounded up to a multiple of 8 (the table's arrays start aligned)."""
    return (n + 7) & ~7
