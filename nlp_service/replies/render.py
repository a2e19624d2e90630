"""The text the bot posts: a rule's template filled in, with the mentions owned here.

The engine names the askers (the comment's author, and any aggregated askers) by
prefixing ``@name``. A template may also name the asker with ``{nickname}`` (or
``@{nickname}``); then the template's place is where the asker is mentioned and the
prefix leaves the asker out, so nobody is ever mentioned twice. The live reply and the
dry run both call :func:`compose`, so the dry run shows exactly what the bot would post.
"""

from __future__ import annotations

from nlp_service.replies.rules import render, template_names


def burst_body(template: str, values: dict[str, str], asker: str) -> tuple[str, bool]:
    """(body, names_asker): the template filled in for ``asker``, without the mention prefix;
    ``names_asker`` is True when the body itself mentions the asker (a ``{nickname}`` template)."""
    if "nickname" in template_names(template):
        return render(template.replace("@{nickname}", "{nickname}"), {**values, "nickname": "@" + asker}), True
    return render(template, values), False


def compose(template: str, values: dict[str, str], asker: str, mentions: list[str]) -> tuple[str, list[str]]:
    """(text, mentions): ``mentions`` are every name the reply mentions, each once, the
    asker included; the prefix holds them all except the asker when the template names it.
    A burst on the action feed is composed the same way by the limits script, from
    :func:`burst_body` of its first asker."""
    names = list(dict.fromkeys([*mentions, asker] if asker not in mentions else mentions))
    body, names_asker = burst_body(template, values, asker)
    prefix = [m for m in names if m != asker] if names_asker else names
    text = (" ".join("@" + m for m in prefix) + " " + body) if prefix else body
    return text, names
