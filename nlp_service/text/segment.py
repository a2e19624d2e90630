"""Segment the matching form into words with jieba's dictionary and our user dictionary.

Stage 2 of the pipeline. We own a private ``jieba.Tokenizer`` (never jieba's global
default, which other code in the process may change), built once, lazily, under a lock,
with jieba's start-up cache kept in a writable directory from the settings.

Speed: jieba's own ``cut`` spends most of a short comment's 30–40 µs building a DAG dict,
a route dict and a generator of tuples. :class:`FastSegmenter` runs the very same
algorithm (jieba's prefix dictionary, maximum log-probability route, no HMM, the same
block splitting and the same tie-breaking) in one backward pass over flat lists with the
log-probabilities precomputed, and gives identical words (``tests/text/test_segment.py``
checks that against ``Tokenizer.cut(HMM=False)`` on every labelled comment and on random
strings). With ``NLP_SERVICE_SEGMENT_HMM=true`` we call jieba's HMM path instead.

Compiled: when ``nlp_service.core._speedups`` is built (``pip install`` compiles it), the
table is a read-only C hash table and the backward pass runs in C (``StrTable.cut_block``,
the same loop, the same arithmetic in the same order): a block costs about a fifth, and the
table (about 30 MB instead of ~100 MB of Python objects) is shared by forked workers, since
reading it writes no reference count. ``_cut_block_py`` stays as the fallback and as the
reference the compiled loop is tested equal to (``tests/text/test_segment.py``).
The compiled table is mapped from the start-up cache (``core/tablecache.mapped_table``):
no Python dict of the prefix dictionary is built at all once the cache is warm, and every
process on the host shares the table's pages.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import threading
from collections.abc import Callable, Iterator
from math import exp, log
from pathlib import Path
from typing import TYPE_CHECKING

from nlp_service.core.config import Settings, get_settings
from nlp_service.core.errors import DataFileError
from nlp_service.core.speedups import StrTable  # compiled, or None (the Python below)
from nlp_service.core.tablecache import mapped_table

if TYPE_CHECKING:
    import jieba

_lock = threading.Lock()
_segmenters: dict[tuple[Path, Path, bool], FastSegmenter] = {}

_MISSING = object()
# jieba's block split (jieba.re_han_default, re_skip_default; tests/text/test_segment.py
# checks they are the same). jieba itself is imported only to build its tokenizer: with the
# prefix table in the start-up cache a process never needs it (importing it costs ~0.25 s,
# most of it pkg_resources).
_re_han = re.compile("([\u4E00-\u9FD5a-zA-Z0-9+#&\\._%\\-]+)", re.U)
_re_skip = re.compile("(\r\n|\\s)", re.U)


def jieba_file(*parts: str) -> Path:
    """A file of the installed jieba package, found without importing it."""
    spec = importlib.util.find_spec("jieba")
    if spec is None or not spec.origin:
        raise DataFileError("jieba is not installed")
    return Path(spec.origin).parent.joinpath(*parts)


class FastSegmenter:
    """jieba's accurate mode without HMM, on precomputed log-probabilities."""

    def __init__(
        self, prefixes: dict[str, float | None] | StrTable, unknown: float, make_tokenizer: Callable[[], jieba.Tokenizer],
        hmm: bool = False, compiled: bool = True,
    ) -> None:  # fmt: skip
        # compiled: the C table replaces the dict (the dict is dropped, it is the big one);
        # ``prefixes`` may already be that table (mapped from the start-up cache)
        if StrTable is not None and isinstance(prefixes, StrTable):
            self._table = prefixes
        else:
            self._table = StrTable(prefixes) if compiled and StrTable is not None else None
        self._pfx: dict[str, float | None] | None = None if self._table is not None else prefixes
        self._unknown = unknown
        self._make_tokenizer = make_tokenizer
        self._tokenizer: jieba.Tokenizer | None = None
        self.hmm = hmm

    @property
    def tokenizer(self) -> jieba.Tokenizer:
        """The jieba tokenizer behind the tables (built on first use: the HMM path, TextRank)."""
        if self._tokenizer is None:
            self._tokenizer = self._make_tokenizer()
        return self._tokenizer

    def frequency(self, word: str) -> int:
        """How often jieba's dictionary (with the user dictionary) saw ``word``; 0 if it is no word."""
        logp = (self._table or self._pfx).get(word)  # type: ignore[union-attr]
        return 0 if logp is None else round(exp(logp - self._unknown))

    def cut(self, text: str) -> Iterator[str]:
        """Yield the words of ``text`` exactly as ``jieba.Tokenizer.cut(text, HMM=False)`` does."""
        if self.hmm:
            yield from self.tokenizer.cut(text, HMM=True)
            return
        for blk in _re_han.split(text):
            if not blk:
                continue
            if _re_han.match(blk):
                yield from self._cut_block(blk)
            else:
                for x in _re_skip.split(blk):
                    if _re_skip.match(x):
                        yield x
                    else:
                        yield from x

    def words(self, text: str) -> list[str]:
        """The words of ``text`` that are not whitespace: ``[w for w in cut(text) if not
        w.isspace()]``, in one C call when compiled (the block splitting included; tested equal)."""
        if self._table is not None and not self.hmm:
            return self._table.words(text, self._unknown)
        return [w for w in self.cut(text) if not w.isspace()]

    @property
    def compiled(self) -> bool:
        """Whether blocks are cut by the compiled loop."""
        return self._table is not None

    def _cut_block(self, s: str) -> list[str]:
        if self._table is not None:
            return self._table.cut_block(s, self._unknown)
        return self._cut_block_py(s)

    def _cut_block_py(self, s: str) -> list[str]:
        n = len(s)
        pfx, unknown, missing = self._pfx, self._unknown, _MISSING
        route_p = [0.0] * (n + 1)
        route_x = [0] * (n + 1)
        for k in range(n - 1, -1, -1):
            best_p = None
            best_x = k
            i = k
            frag = s[k]
            while i < n:
                lp = pfx.get(frag, missing)
                if lp is missing:
                    break
                if lp is not None:
                    p = lp + route_p[i + 1]
                    if best_p is None or p >= best_p:  # ties → the longer word, like max() on (p, x)
                        best_p, best_x = p, i
                i += 1
                frag = s[k : i + 1]
            if best_p is None:
                best_p = unknown + route_p[k + 1]
            route_p[k] = best_p
            route_x[k] = best_x
        words: list[str] = []
        buf = ""
        x = 0
        while x < n:
            y = route_x[x] + 1
            if y - x == 1 and s[x].isascii() and s[x].isalnum():
                buf += s[x]  # jieba glues single ASCII letters/digits together
            else:
                if buf:
                    words.append(buf)
                    buf = ""
                words.append(s[x:y])
            x = y
        if buf:
            words.append(buf)
        return words


def prefix_table(tokenizer: jieba.Tokenizer) -> tuple[dict[str, float | None], float]:
    """Every word and word prefix of the tokenizer → log-probability (None for a prefix that is
    no word), and the log-probability of an unknown character."""
    tokenizer.check_initialized()
    logtotal = log(tokenizer.total)
    # Same arithmetic as jieba's calc(): log(freq) - logtotal, then + route. Prefixes that
    # are no word map to None, so one lookup answers both "prefix?" and "word?".
    return {w: (log(f) - logtotal if f else None) for w, f in tokenizer.FREQ.items()}, log(1) - logtotal


def get_segmenter(settings: Settings | None = None) -> FastSegmenter:
    """The segmenter for these settings' user dictionary (built once, on first use)."""
    settings = settings or get_settings()
    key = (settings.userdict_path, settings.cache_dir, settings.segment_hmm)
    seg = _segmenters.get(key)
    if seg is not None:
        return seg
    with _lock:
        seg = _segmenters.get(key)
        if seg is None:
            seg = _load_segmenter(settings)
            _segmenters[key] = seg
    return seg


def get_tokenizer(settings: Settings | None = None) -> jieba.Tokenizer:
    """The initialised private jieba tokenizer (with the user dictionary)."""
    return get_segmenter(settings).tokenizer


def _load_segmenter(settings: Settings) -> FastSegmenter:
    if not settings.userdict_path.is_file():
        raise DataFileError(f"user dictionary not found at {settings.userdict_path} (NLP_SERVICE_DATA_DIR)")
    built: list[jieba.Tokenizer] = []

    def build() -> tuple[dict[str, float | None], float]:
        built.append(_build_tokenizer(settings))
        return prefix_table(built[0])

    sources = [jieba_file("dict.txt"), settings.userdict_path]  # jieba.DEFAULT_DICT_NAME
    prefixes, unknown = mapped_table(settings.cache_dir, "segment-prefixes", sources, build)
    seg = FastSegmenter(prefixes, unknown, lambda: _build_tokenizer(settings), hmm=settings.segment_hmm)
    if built:
        seg._tokenizer = built[0]
    return seg


def _build_tokenizer(settings: Settings) -> jieba.Tokenizer:
    if not settings.userdict_path.is_file():
        raise DataFileError(f"user dictionary not found at {settings.userdict_path} (NLP_SERVICE_DATA_DIR)")
    import jieba

    jieba.setLogLevel(logging.WARNING)
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    tok = jieba.Tokenizer()
    tok.tmp_dir = str(settings.cache_dir)  # jieba writes its prefix-dict cache here
    tok.initialize()
    tok.load_userdict(str(settings.userdict_path))
    return tok


def cut(text: str, settings: Settings | None = None) -> Iterator[str]:
    """Yield the words of ``text`` (a matching form), skipping whitespace."""
    for word in get_segmenter(settings).cut(text):
        if not word.isspace():
            yield word


def lcut(text: str, settings: Settings | None = None) -> list[str]:
    """List form of :func:`cut`."""
    return get_segmenter(settings).words(text)
