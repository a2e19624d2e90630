"""uvicorn's access line for the reply requests the protocol answers, one write per loop turn.

Logging a line through ``logging`` cost the event loop about a quarter of its time on the reply
path (~25-40 µs of ~150 µs a request at 40 % new texts, measured by turning it off): a
``LogRecord`` with its clock, thread and process lookups, uvicorn's ``AccessFormatter`` copying
the record twice and looking the status phrase up, and the handler's lock, ``write`` and
``flush``, a system call for every line. Every field of uvicorn's default access format
depends on the request alone (client, method, path, HTTP version, status), so the line of a
``200`` to ``POST /v1/reply`` is a fixed prefix, the client's address and a fixed suffix: the
formatter itself renders the two fixed parts once per path and version, and the lines of one
loop turn (a coalescer batch answers many requests at once) go to the handler's stream in one
write and one flush, under the handler's lock.

Taken only where the bytes are the same as ``logging`` would write: the ``uvicorn.access``
logger as uvicorn's own configuration leaves it (enabled for INFO, no filters, not
propagating, exactly one plain ``StreamHandler`` with uvicorn's ``AccessFormatter`` and a
format of request fields only: no time, thread or process). Any other configuration (a log
config of the operator's, a handler a test adds, ``--no-access-log``) gets ``logger.info`` for
every line, as before. A line waits at most until the end of the loop turn that answered its
request (the flush is the next callback; lines still buffered when the loop stops are written
by :func:`flush_all`, which ``api/prefork.py`` and an ``atexit`` hook call).
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import logging
import re
import weakref

from uvicorn.logging import AccessFormatter

_MSG = '%s - "%s %s HTTP/%s" %d'  # what uvicorn's RequestResponseCycle logs
_MARK = "\x00client\x00"  # stands for the client's address while the fixed parts are rendered
# record fields whose value depends only on the request (uvicorn's default access format uses
# the first four); a format with any other field (asctime, thread, process…) goes through logging
_REQUEST_FIELDS = frozenset({"levelprefix", "client_addr", "request_line", "status_code", "levelname", "levelno", "name", "message"})
_FIELD = re.compile(r"%\((\w+)\)")

_open: weakref.WeakSet[AccessLines] = weakref.WeakSet()  # buffers that may hold lines (flush_all)


class AccessLines:
    """The buffered access lines of one handler on one event loop."""

    def __init__(self, logger: logging.Logger, handler: logging.StreamHandler, loop: asyncio.AbstractEventLoop) -> None:
        self.logger, self.handler, self.loop = logger, handler, loop
        self._parts: dict[tuple[str, str], tuple[str, str] | None] = {}  # (path, version) → (prefix, suffix)
        self._lines: list[str] = []
        _open.add(self)

    def ok(self, client: str, path: str, version: str) -> None:
        """Log ``POST path`` answered 200 to ``client`` (uvicorn's ``host:port``)."""
        key = (path, version)
        parts = self._parts.get(key, False)
        if parts is False:
            parts = self._parts[key] = self._render(path, version)
        if parts is None:  # the client's mark did not come through the format once: logging's way
            self.logger.info(_MSG, client, "POST", path, version, 200)
            return
        if not self._lines:
            self.loop.call_soon(self.flush)
        self._lines.append(parts[0] + client + parts[1])

    def _render(self, path: str, version: str) -> tuple[str, str] | None:
        """The line's parts before and after the client's address, by the handler's own formatter."""
        record = self.logger.makeRecord(self.logger.name, logging.INFO, "", 0, _MSG, (_MARK, "POST", path, version, 200), None)
        text = self.handler.format(record)
        if text.count(_MARK) != 1:
            return None
        prefix, _, suffix = text.partition(_MARK)
        return prefix, suffix + self.handler.terminator

    def flush(self) -> None:
        """Write the buffered lines in one write, as ``StreamHandler.emit`` writes one."""
        lines, self._lines = self._lines, []
        if not lines:
            return
        handler = self.handler
        handler.acquire()
        try:
            handler.stream.write("".join(lines))
            handler.flush()
        except Exception:  # noqa: BLE001 - what StreamHandler.emit does with a failing stream
            handler.handleError(self.logger.makeRecord(self.logger.name, logging.INFO, "", 0, "%s", (lines[0],), None))
        finally:
            handler.release()


def for_logger(logger: logging.Logger, loop: asyncio.AbstractEventLoop) -> AccessLines | None:
    """The buffer for ``logger``'s lines on ``loop`` when its configuration is uvicorn's own
    (see above), else None (then every line goes through ``logger.info``). Checked for each
    new connection: a configuration changed meanwhile is seen by the next one."""
    if logger.filters or logger.propagate or logger.disabled or len(logger.handlers) != 1 or not logger.isEnabledFor(logging.INFO):
        return None
    handler = logger.handlers[0]
    formatter = handler.formatter
    if type(handler) is not logging.StreamHandler or handler.filters or handler.level > logging.INFO or type(formatter) is not AccessFormatter:
        return None
    style = formatter._style
    if type(style) is not logging.PercentStyle or not _request_fields_only(style._fmt):
        return None
    lines = getattr(handler, "_nlp_access_lines", None)  # one per handler and loop: the same order for all its lines
    if lines is None or lines.loop is not loop or lines.logger is not logger:
        lines = AccessLines(logger, handler, loop)
        handler._nlp_access_lines = lines  # type: ignore[attr-defined]
    return lines


@functools.lru_cache(maxsize=16)
def _request_fields_only(fmt: str) -> bool:
    """Whether a %-style format uses request fields only (once per format, not per connection)."""
    return set(_FIELD.findall(fmt)) <= _REQUEST_FIELDS


def flush_all() -> None:
    """Write every buffered line now (a worker about to exit, the interpreter at exit)."""
    for lines in list(_open):
        lines.flush()


atexit.register(flush_all)
