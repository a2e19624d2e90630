"""The console in a real browser: the app served by uvicorn in a thread of the test process
(on a port of 33000-33099, or one the OS picks), Debian's chromium driven by Playwright.

Everything started here is stopped here: the browser when the module's tests end, the
server (and the services it shares with the test) when each test ends. Waiting is on
conditions (the server says it started, an element appears), bounded by a hang guard.
"""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from nlp_service.console.app import create_app
from nlp_service.live.services import Services
from nlp_service.store.version import state_version
from tests.waiting import StateWatch

ADMIN = "adm-console-test-key-0001"
ROOM = "room1"  # the room the operators' pages are tested on
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "var" / "test-artifacts"
GUARD_MS = 60_000  # a hang guard for waits in the browser, never the thing asserted
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    """A free port of the console tests' range (33000-33099), else one the OS picks."""
    for port in [*range(33000, 33100), 0]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError("no free port")


class Server:
    """uvicorn in a thread; ``restart()`` drops every open connection (SSE included) and
    serves again on the same port, as a crashed and restarted proxy or instance would."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        config = uvicorn.Config(create_app(self.services.settings, self.services), host="127.0.0.1", port=self.port,
                                log_level="warning", timeout_graceful_shutdown=1, lifespan="off")  # fmt: skip
        self._server = uvicorn.Server(config)
        started = threading.Event()
        original = self._server.startup

        async def startup(sockets=None):
            await original(sockets)
            started.set()

        self._server.startup = startup  # type: ignore[method-assign]
        self._thread = threading.Thread(target=self._server.run, name="console-uvicorn", daemon=True)
        self._thread.start()
        assert started.wait(GUARD_MS / 1000), "uvicorn did not start"
        assert self._server.started, "uvicorn failed to start"

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._server.force_exit = True  # open SSE streams do not end by themselves
            self._thread.join(GUARD_MS / 1000)
            assert not self._thread.is_alive(), "uvicorn did not stop"
        self._server = self._thread = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def services(request, rclient, svc_settings) -> Iterator[Services]:
    """The service instance the app serves; settings overrides through indirect parametrisation."""
    s = svc_settings.model_copy(update={"admin_key": SecretStr(ADMIN), **getattr(request, "param", {})})
    svc = Services.start(s, rclient, poll=True)
    yield svc
    svc.close()


@pytest.fixture
def server(services) -> Iterator[Server]:
    srv = Server(services)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def api(server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30) as client:
        yield client


def new_key(api: httpx.Client, name: str, role: str, rooms: list[str]) -> str:
    r = api.post("/v1/keys", json={"name": name, "role": role, "rooms": rooms})
    assert r.status_code == 201, r.text
    return r.json()["key"]


def settled(services: Services) -> bool:
    """True once this instance has loaded every change written so far (rules, lists, bans)."""
    return StateWatch(services.state).reaches(state_version(services.client, services.keys))


def room_with_rule(api: httpx.Client, services: Services, variables: dict[str, str], rule: dict) -> str:
    """ROOM with its bot key (returned), ``variables`` and ``rule``, loaded by the instance."""
    bot = new_key(api, "room1-bot", "bot", [ROOM])
    api.put(f"/v1/rooms/{ROOM}/variables", json=variables)
    assert api.post("/v1/rules", json=rule).status_code == 201
    assert settled(services)
    return bot


def reply(api: httpx.Client, bot: str, i: int, text: str) -> dict:
    """Comment ``i`` of ROOM through /v1/reply with the bot's key; its answer."""
    r = api.post("/v1/reply", json={"id": f"c{i}", "room": ROOM, "user": f"u{i}", "nickname": f"观众{i}", "text": text}, headers={"Authorization": f"Bearer {bot}"})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium is needed (apt-get install chromium; .ci/run installs it)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Tab:
    """One signed-in browser tab (its own context: its own sessionStorage), with the page's
    errors collected."""

    def __init__(self, browser, url: str, key: str, expected_errors: tuple[str, ...] = (), zoom: int = 1) -> None:
        # zoom 2 = a 1280×720 screen at 200 %: half the CSS pixels, twice the device pixels
        self.context = browser.new_context(viewport={"width": 1280 // zoom, "height": 720 // zoom}, device_scale_factor=zoom,
                                           locale="zh-CN", timezone_id="Asia/Shanghai")  # fmt: skip
        self.context.set_default_timeout(GUARD_MS)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" and not any(e in m.text for e in expected_errors) else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url)
        self.page.fill("#api-key", key)
        self.page.press("#api-key", "Enter")
        self.page.wait_for_selector("#main:not([hidden])")

    def shot(self, name: str, full_page: bool = False) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"console-{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def tabs(browser, server):
    opened: list[Tab] = []

    def open_tab(url: str, key: str, expected_errors: tuple[str, ...] = (), zoom: int = 1) -> Tab:
        tab = Tab(browser, url, key, expected_errors, zoom)
        opened.append(tab)
        return tab

    yield open_tab
    for tab in opened:
        tab.close()
