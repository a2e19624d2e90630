"""Prometheus metrics (prometheus-client: the reference client, text format for /metrics).

With several uvicorn workers each process counts on its own, and a scrape reaches one of
them: counters would alternate between scrapes. ``nlp-service serve --workers N`` therefore
sets ``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's own switch, read when the library is
imported, so the workers inherit it) to a fresh directory; every worker then writes its
values to memory-mapped files there, and :func:`exposition` sums them across workers
(the library's multiprocess mode). One process: the in-memory registry, as before.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)

from nlp_service.core.multiproc import MULTIPROC_ENV, enable_multiprocess  # noqa: F401 - re-exported


class _Pid:
    """This process's id, renewed in a forked child by ``os.register_at_fork``. In multiprocess
    mode each value's every update asks prometheus-client's ``process_identifier`` whether the
    process forked (its files are then reopened); the default, ``os.getpid``, is a system call
    per update: 4-5 % of a worker's CPU on the reply path with ``serve --workers 2`` (py-spy
    --gil, the event loop and the engine thread alike). The cached id changes exactly when
    ``os.getpid()`` would, at a fork."""

    value = os.getpid()

    @classmethod
    def renew(cls) -> None:
        cls.value = os.getpid()

    @classmethod
    def get(cls) -> int:
        return cls.value


os.register_at_fork(after_in_child=_Pid.renew)
if values.ValueClass is not values.MutexValue:  # multiprocess mode: before any value exists
    values.ValueClass = values.MultiProcessValue(process_identifier=_Pid.get)

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "nlp_http_requests_total", "HTTP requests by route and status", ["method", "route", "status"], registry=REGISTRY
)
HTTP_LATENCY = Histogram(
    "nlp_http_request_seconds",
    "HTTP request latency by route",
    ["method", "route"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
    registry=REGISTRY,
)
COMMENTS = Counter("nlp_comments_total", "comments analysed on the reply path", registry=REGISTRY)
REPLIES_SENT = Counter("nlp_replies_sent_total", "replies returned for the bot to post", registry=REGISTRY)
COMMENTS_NOT_ANSWERED = Counter(
    "nlp_comments_not_answered_total",
    "comments that matched a rule but got no reply of their own, by reason "
    "(budget, rule cooldown → aggregated, user_cooldown, banned, schedule, missing_variable, …)",
    ["reason"],
    registry=REGISTRY,
)
REPLY_BATCH = Histogram(
    "nlp_reply_batch_comments",
    "comments per engine batch on the reply path (concurrent requests share one; see live/coalesce.py)",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 1000),
    registry=REGISTRY,
)
RULE_HITS = Counter("nlp_rule_hits_total", "rules that fired (a reply was sent)", ["rule_id"], registry=REGISTRY)
REGEX_TIMEOUTS = Counter("nlp_rule_regex_timeouts_total", "rule regexes stopped by the time bound", registry=REGISTRY)
REGEX_SKIPPED = Counter(
    "nlp_rule_regex_skipped_total", "rule regexes not run: the room's regex time for the batch was spent (reason regex_budget)", registry=REGISTRY
)
SPOOLED = Counter("nlp_moderation_spooled_total", "flagged comments written to the local spool while Redis was away", registry=REGISTRY)


def exposition() -> tuple[bytes, str]:
    """The text exposition of every metric (summed over the workers in multiprocess mode)."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def multiprocess_values() -> bool:
    """Whether this process writes its values for the multiprocess exposition (the switch was
    set before prometheus-client was imported)."""
    return values.ValueClass is not values.MutexValue
STATE_ERRORS = Counter(
    "nlp_state_refresh_errors_total", "rooms whose state could not be rebuilt on refresh (a bad stored record; logged)", registry=REGISTRY
)
