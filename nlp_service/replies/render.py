"""The text the bot posts: a rule's template filled in, with the mentions owned here.

The engine names the askers (the comment's author, and any aggregated askers) by
prefixing ``@name``. A template may also name the asker with ``{nickname}`` (or
``@{nickname}``); then the template's place is where the asker is mentioned and the
prefix leaves the asker out, so nobody is ever mentioned twice. The live reply and the
dry run both call :func:`compose`, so the dry run shows exactly what the bot would post.
"""

from __future__ import annotations

from nlp_service.replies.rules import render, template_variables


def compose(template: str, values: dict[str, str], asker: str, mentions: list[str]) -> tuple[str, list[str]]:
    """(text, mentions): ``mentions`` are every name the reply mentions, each once, the
    asker included; the prefix holds them all except the asker when the template names it."""
    names = list(dict.fromkeys([*mentions, asker] if asker not in mentions else mentions))
    if "nickname" in template_variables(template):
        body = render(template.replace("@{nickname}", "{nickname}"), {**values, "nickname": "@" + asker})
        prefix = [m for m in names if m != asker]
    else:
        body = render(template, values)
        prefix = names
    text = (" ".join("@" + m for m in prefix) + " " + body) if prefix else body
    return text, names
