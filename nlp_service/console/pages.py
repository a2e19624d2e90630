"""The console's pages and static files, and the security headers every page carries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from nlp_service.classify.labels import INTENT_NAMES_ZH, SENTIMENT_NAMES_ZH
from nlp_service.moderation.labels import ACTION_NAMES_ZH, CATEGORY_NAMES_ZH
from nlp_service.moderation.lists import EDITABLE
from nlp_service.replies.rules import ROOM_PATTERN

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(prefix="/console", include_in_schema=False)

# Every script is a file under /console/static (no inline script, no eval); styles likewise.
# connect-src 'self': the pages talk to this app's /v1 API only. frame-ancestors: no
# clickjacking of the decision buttons.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

# The vocabularies the pages show, from the one Python source (rendered into a JSON data
# block, which CSP does not treat as a script).
LABELS = {
    "intent": INTENT_NAMES_ZH, "sentiment": SENTIMENT_NAMES_ZH, "category": CATEGORY_NAMES_ZH,
    "action": ACTION_NAMES_ZH, "lists": list(EDITABLE),
}  # fmt: skip


def _page(request: Request, template: str, **context: object) -> HTMLResponse:
    response = templates.TemplateResponse(request, template, {"labels_json": json.dumps(LABELS, ensure_ascii=False), **context})
    response.headers.update(SECURITY_HEADERS)
    return response


@router.get("", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    """Sign in with a key; pick the moderators' queue or a room to run."""
    return _page(request, "home.html", page="home")


@router.get("/moderate", response_class=HTMLResponse)
def moderate(request: Request) -> HTMLResponse:
    """The moderators' live queue."""
    return _page(request, "moderate.html", page="moderate")


@router.get("/rooms/{room}", response_class=HTMLResponse)
def room(request: Request, room: Annotated[str, PathParam(pattern=ROOM_PATTERN)]) -> HTMLResponse:
    """A room's rules, variables, word lists, bans, keys and live view (operators)."""
    return _page(request, "room.html", page="room", room=room)


@router.get("/rooms", include_in_schema=False)
def rooms_redirect() -> RedirectResponse:
    return RedirectResponse("/console", status_code=307)


def mount(app: FastAPI) -> None:
    """Add the console's pages and its static files to ``app``."""
    app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")
