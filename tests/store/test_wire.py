"""store/wire.py sends a pipeline as redis-py would: the same bytes, the same replies."""

from __future__ import annotations

import pytest
import redis
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from redis.exceptions import NoScriptError, ResponseError

from nlp_service.store import wire
from nlp_service.store.pipeline import execute

COMMANDS = [
    ("SET", "k:s", "中文 text"),
    ("SET", b"k:b", b"\x00\xffraw"),
    ("HINCRBY", "k:h", "sentiment:negative", 3),
    ("HINCRBYFLOAT", "k:h", "f", 0.1),
    ("ZADD", "k:z", "GT", 1e20, "m"),
    ("ZINCRBY", "k:z", -2.5e-7, "中"),
    ("EXPIRE", "k:h", 43200),
    ("LPUSH", "k:l", '{"a": 1}', memoryview(b"mv")),
    ("LTRIM", "k:l", 0, 49),
    ("XADD", "k:x", "MAXLEN", "~", 100, "*", "c", "[]"),
    ("EVALSHA", "0" * 40, 1, "k:s", "arg", 10**30, -5),
]


def test_pack_is_redis_py_s_bytes(rclient: redis.Redis) -> None:
    conn = rclient.connection_pool.make_connection()
    assert wire.pack(COMMANDS) == b"".join(conn.pack_commands(COMMANDS))


@pytest.mark.parametrize("command", [("SCRIPT LOAD", "return 1"), ("SET", "k", bytearray(b"x")), ("SET", "k", True), ("SET", "k", None)])
def test_pack_leaves_to_redis_py_what_hiredis_does_not_pack_alike(command: tuple) -> None:
    with pytest.raises(TypeError):
        wire.pack([("GET", "k"), command])


def _queued(client: redis.Redis, transaction: bool = False) -> redis.client.Pipeline:
    pipe = client.pipeline(transaction=transaction)
    pipe.set("k:s", "v")
    pipe.get("k:s")
    pipe.incr("k:s")  # an error reply, kept in place
    pipe.hincrby("k:h", "n", 2)
    pipe.expire("k:h", 100)  # a response callback (bool)
    pipe.zadd("k:z", {"m": 5}, gt=True)
    pipe.zrange("k:z", 0, -1, withscores=True)  # callback with options
    pipe.execute_command("EVALSHA", "0" * 40, 0)  # NOSCRIPT
    pipe.execute_command("SCRIPT LOAD", "return 1")  # redis-py splits the name
    return pipe


def _same(a: list, b: list) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        if isinstance(y, Exception):
            assert type(x) is type(y) and x.args == y.args
        else:
            assert x == y


def test_send_answers_what_execute_answers(rclient: redis.Redis) -> None:
    plain = [c for c in _queued(rclient).command_stack if c[0][0] != "SCRIPT LOAD"]
    expected_pipe, lean_pipe = rclient.pipeline(transaction=False), rclient.pipeline(transaction=False)
    for pipe in (expected_pipe, lean_pipe):
        pipe.command_stack.extend((args, dict(options)) for args, options in plain)
    expected = expected_pipe.execute(raise_on_error=False)
    rclient.flushdb()
    got = wire.send(lean_pipe)
    assert got is not None and not lean_pipe.command_stack  # sent, and the pipeline reset
    _same(got, expected)
    assert isinstance(got[2], ResponseError) and isinstance(got[7], NoScriptError)
    assert rclient.get("k:s") == "v" and rclient.ttl("k:h") > 0


def _both(client: redis.Redis, queue) -> tuple[list, list]:
    """``execute``'s and ``send``'s answers to what ``queue(pipe)`` queues, each on a fresh database."""
    expected_pipe, lean_pipe = client.pipeline(transaction=False), client.pipeline(transaction=False)
    queue(expected_pipe)
    expected = expected_pipe.execute(raise_on_error=False)
    client.flushdb()
    queue(lean_pipe)
    return wire.send(lean_pipe), expected


def test_send_reads_options_and_raw_replies_as_parse_response_does(rclient: redis.Redis) -> None:
    from redis.client import EMPTY_RESPONSE

    def queue(pipe: redis.client.Pipeline) -> None:
        pipe.set("k:s", "中文")
        pipe.execute_command("INCR", "k:s", **{EMPTY_RESPONSE: "empty"})  # an error reply, replaced by the option
        pipe.execute_command("GET", "k:none", keys=["k:none"])  # the cache's option, dropped before the callback
        pipe.zadd("k:z", {"a": 1.5, "b": 2})
        pipe.zrange("k:z", 0, -1, withscores=True, score_cast_func=int)  # a callback with its options
        pipe.hset("k:h", mapping={"f": "v"})
        pipe.hgetall("k:h")

    got, expected = _both(rclient, queue)
    _same(got, expected)
    assert got[1] == "empty" and got[4] == [("a", 1), ("b", 2)] and got[6] == {"f": "v"}

    def raw(pipe: redis.client.Pipeline) -> None:
        pipe.set("k:s", "v")
        pipe.dump("k:s")  # NEVER_DECODE: read through parse_response, undecoded

    got, expected = _both(rclient, raw)
    assert isinstance(got[1], bytes) and got == expected


def test_a_reply_cut_short_fails_as_a_lost_connection(rclient: redis.Redis, monkeypatch) -> None:
    """The socket closes between two replies: ``send`` gives up (its caller falls back on
    ``pipe.execute``, which retries on a fresh connection) and the connection is dropped."""
    from redis._parsers.hiredis import _HiredisParser

    reads = []
    real = _HiredisParser.read_from_socket

    def cut(self, *args, **kwargs):
        reads.append(1)
        if len(reads) > 1:
            raise redis.ConnectionError("closed")
        return real(self, *args, **kwargs)

    pipe = rclient.pipeline(transaction=False)
    pipe.set("k:big", "x" * 200_000)
    pipe.get("k:big")  # its reply needs more than one read
    monkeypatch.setattr(_HiredisParser, "read_from_socket", cut)
    assert wire.send(pipe) is None
    monkeypatch.undo()
    assert rclient.get("k:big") == "x" * 200_000  # the client goes on over a fresh connection


def test_send_declines_what_it_does_not_cover(rclient: redis.Redis) -> None:
    assert wire.send(_queued(rclient, transaction=True)) is None
    pipe = _queued(rclient)
    assert wire.send(pipe) is None and pipe.command_stack  # SCRIPT LOAD: left to pipe.execute
    assert wire.send(rclient.pipeline(transaction=False)) is None


def test_execute_over_the_lean_path_reloads_scripts(rclient: redis.Redis) -> None:
    from nlp_service.store.pipeline import register_script, run_script

    script = register_script(rclient, "return ARGV[1] .. 'x'")
    rclient.script_flush()
    pipe = rclient.pipeline(transaction=False)
    run_script(pipe, script, ["k"], ["a"])
    pipe.set("k:plain", 1)
    assert execute(pipe) == ["ax", True]


def test_compiled_pack_is_redis_py_s_bytes_and_leaves_other_types_to_hiredis(rclient: redis.Redis) -> None:
    from nlp_service.core.speedups import pack_commands

    assert pack_commands is not None  # built by pip install (tests/core/test_speedups.py fails without it)
    conn = rclient.connection_pool.make_connection()
    plain = [c for c in COMMANDS if not any(isinstance(a, memoryview) for a in c)]
    assert pack_commands(plain) == b"".join(conn.pack_commands(plain))
    with pytest.raises(TypeError):
        pack_commands([("LPUSH", "k", memoryview(b"mv"))])  # wire.pack then packs it with hiredis
    assert wire.pack(COMMANDS) == b"".join(conn.pack_commands(COMMANDS))


_ARGS = st.one_of(
    st.text(), st.binary(), st.integers(min_value=-(10**40), max_value=10**40), st.floats(allow_nan=True, allow_infinity=True),
)


@hsettings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["SET", "EVALSHA", "HSET", "XADD"]), st.lists(_ARGS, max_size=12)), min_size=1, max_size=6))
def test_compiled_pack_equals_redis_py_on_random_arguments(commands: list) -> None:
    from nlp_service.core.speedups import pack_commands

    conn = redis.Connection(decode_responses=True)  # packing needs no server
    flat = [(name, *args) for name, args in commands]
    try:
        expected = b"".join(conn.pack_commands(flat))
    except UnicodeEncodeError:  # a lone surrogate: neither packs it
        with pytest.raises(UnicodeEncodeError):
            pack_commands(flat)
        return
    assert pack_commands(flat) == expected


def test_callback_lookup_is_the_case_insensitive_dict_s(rclient: redis.Redis) -> None:
    callbacks = rclient.pipeline(transaction=False).response_callbacks
    assert type(callbacks) is redis.client.CaseInsensitiveDict
    names = [*callbacks, *(n.lower() for n in callbacks), *(n.title() for n in callbacks), "EVALSHA", "evalsha", "NOPE", "", "1", b"EXPIRE", b"expire"]
    for name in names:
        expected = callbacks[name] if name in callbacks else None
        assert wire._callback(callbacks, name) is expected, name
    assert wire._callback(callbacks, "expire") is not None  # a hit through the slow path
