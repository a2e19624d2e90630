"""The buffered access lines (api/accesslog.py): taken only for uvicorn's own configuration of
the access logger, the same text as ``logger.info`` writes, written when the loop turn ends,
and logging's way (or its error handling) everywhere else. tests/api/test_direct.py compares
them on the wire with the ASGI path's lines."""

from __future__ import annotations

import asyncio
import io
import logging
import uuid

import pytest
from uvicorn.config import LOGGING_CONFIG
from uvicorn.logging import AccessFormatter

from nlp_service.api import accesslog

UVICORN_FMT = LOGGING_CONFIG["formatters"]["access"]["fmt"]


def access_logger(fmt: str = UVICORN_FMT, colors: bool = False, formatter: logging.Formatter | None = None) -> logging.Logger:
    """A logger configured as uvicorn configures ``uvicorn.access``, on a string stream."""
    logger = logging.getLogger(f"test.access.{uuid.uuid4().hex}")
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(formatter or AccessFormatter(fmt, use_colors=colors))
    logger.handlers, logger.propagate, logger.level = [handler], False, logging.INFO
    return logger


def logged(logger: logging.Logger, lines: list[tuple[str, str, str]]) -> str:
    """What ``logger.info`` writes for ``lines`` (client, path, version), as uvicorn logs them:
    the same logger's records, through a StreamHandler with the same formatter."""
    reference = logging.StreamHandler(io.StringIO())
    reference.setFormatter(logger.handlers[0].formatter)
    for client, path, version in lines:
        reference.handle(logger.makeRecord(logger.name, logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d', (client, "POST", path, version, 200), None))
    return reference.stream.getvalue()


@pytest.fixture
def loop():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


LINES = [("127.0.0.1:5000", "/v1/reply", "1.1"), ("10.0.0.2:61234", "/v1/reply/batch", "1.1"), ("[::1]:80", "/v1/reply", "1.0"), ("", "/v1/reply", "1.1")]


@pytest.mark.parametrize("colors", [False, True])
@pytest.mark.parametrize("fmt", [UVICORN_FMT, "%(name)s %(levelname)s %(client_addr)s %(request_line)s -> %(status_code)s", "%(message)s"])
def test_the_lines_are_what_logging_writes_once_the_loop_turn_ends(loop, fmt, colors) -> None:
    logger = access_logger(fmt, colors)
    lines = accesslog.for_logger(logger, loop)
    assert lines is not None and accesslog.for_logger(logger, loop) is lines  # one buffer per handler and loop
    for line in LINES:
        lines.ok(*line)
    stream = logger.handlers[0].stream
    assert stream.getvalue() == ""  # nothing written before the loop turn ends
    loop.run_until_complete(asyncio.sleep(0))
    assert stream.getvalue() == logged(logger, LINES)
    lines.ok(*LINES[0])
    loop.run_until_complete(asyncio.sleep(0))
    assert stream.getvalue() == logged(logger, [*LINES, LINES[0]])


def _filtered(logger: logging.Logger) -> None:
    logger.addFilter(lambda record: True)


def _handler_filtered(logger: logging.Logger) -> None:
    logger.handlers[0].addFilter(lambda record: True)


def _file_handler(logger: logging.Logger) -> None:
    class Sub(logging.StreamHandler):
        pass

    handler = Sub(io.StringIO())
    handler.setFormatter(logger.handlers[0].formatter)
    logger.handlers = [handler]


@pytest.mark.parametrize(
    "change",
    [
        _filtered,
        _handler_filtered,
        _file_handler,
        lambda logger: setattr(logger, "propagate", True),
        lambda logger: logger.addHandler(logging.NullHandler()),
        lambda logger: logger.setLevel(logging.WARNING),
        lambda logger: logger.handlers[0].setLevel(logging.WARNING),
        lambda logger: setattr(logger, "disabled", True),
        lambda logger: logger.handlers[0].setFormatter(AccessFormatter("%(asctime)s " + UVICORN_FMT)),
        lambda logger: logger.handlers[0].setFormatter(AccessFormatter("%(process)d " + UVICORN_FMT)),
        lambda logger: logger.handlers[0].setFormatter(logging.Formatter("%(message)s")),
        lambda logger: logger.handlers[0].setFormatter(AccessFormatter("{levelprefix} {client_addr}", style="{")),
    ],
)
def test_any_other_configuration_goes_through_logging(loop, change) -> None:
    logger = access_logger()
    change(logger)
    assert accesslog.for_logger(logger, loop) is None


def test_a_format_that_repeats_the_client_is_logged_through_logging(loop) -> None:
    logger = access_logger("%(client_addr)s %(client_addr)s %(request_line)s")
    lines = accesslog.for_logger(logger, loop)
    lines.ok(*LINES[0])  # the client's mark came through twice: logger.info, at once
    assert logger.handlers[0].stream.getvalue() == logged(logger, LINES[:1])


def test_lines_left_when_the_loop_stops_are_written_by_flush_all(loop) -> None:
    logger = access_logger()
    accesslog.for_logger(logger, loop).ok(*LINES[0])
    accesslog.flush_all()
    assert logger.handlers[0].stream.getvalue() == logged(logger, LINES[:1])
    loop.run_until_complete(asyncio.sleep(0))  # the scheduled flush finds nothing more to write
    assert logger.handlers[0].stream.getvalue() == logged(logger, LINES[:1])


def test_a_failing_stream_is_the_handlers_error_to_handle(loop, monkeypatch) -> None:
    class Broken(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError("disk full")

    logger = access_logger()
    logger.handlers[0].setStream(Broken())
    errors = []
    monkeypatch.setattr(logger.handlers[0], "handleError", errors.append)
    accesslog.for_logger(logger, loop).ok(*LINES[0])
    loop.run_until_complete(asyncio.sleep(0))  # no exception reaches the loop
    assert len(errors) == 1 and LINES[0][0] in errors[0].getMessage()
