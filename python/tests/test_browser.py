"""The demo in a real browser: Debian's headless Chromium (``/usr/bin/chromium``), driven by
Playwright's sync API with ``executable_path`` (Playwright's own browser download does not
work on these machines, and is never used).

The demo runs as its real command, ``python -m rolltoken demo --port 0`` with
``ROLLTOKEN_DEMO_INSECURE=1`` (a plain-HTTP cookie on 127.0.0.1), and so with its real policy,
``Policy.default()``: the grace window (10 s) is read off the demo's home page and waited out
once. One browser context, one session, from the anonymous first visit through register and
log in (the real forms, the 303 followed by the browser), page loads, the fan-out page's 6
parallel ``/api/me`` calls, and a second tab used alternately with the first: never logged
out. Then the browser's cookie is copied into a separate client (httpx), the browser moves on,
and after the grace window the copy is replayed: the core sees a reuse, and the browser's next
page load shows the explanation page (401, cookie cleared), of which a screenshot is taken.

``python/run-tests.sh`` installs Debian's ``chromium`` when it is missing; the test is skipped
only when ``/usr/bin/chromium`` is absent (the install was refused).
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator, List, Optional

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, Response, sync_playwright

import rolltoken

CHROMIUM = "/usr/bin/chromium"
# The flags known to work on these machines (see the environment notes): without the
# background-networking ones Chromium keeps trying Google's hosts through a closed network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
COOKIE = rolltoken.CookieConfig.insecure_local().name  # "rolltoken"
PAGE_TIMEOUT_MS = 15_000
STARTUP_TIMEOUT_S = 20.0
PASSWORD = "correct horse battery"
FANOUT_CALLS = 6
UA_THIEF = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15"

pytestmark = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK),
    reason=f"{CHROMIUM} is missing: Debian's chromium package could not be installed "
    "(python/run-tests.sh runs apt-get install -y chromium)",
)


class Demo:
    """``python -m rolltoken demo`` on a free 127.0.0.1 port, as a real process."""

    def __init__(self, log_path: Path) -> None:
        self.log = open(log_path, "w", encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rolltoken", "demo", "--host", "127.0.0.1", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "ROLLTOKEN_DEMO_INSECURE": "1", "ROLLTOKEN_KEYS": ""},
        )
        lines: queue.Queue[str] = queue.Queue()
        stdout = self.proc.stdout
        assert stdout is not None

        def pump() -> None:
            for line in stdout:
                lines.put(line)

        self.pump = threading.Thread(target=pump, daemon=True)
        self.pump.start()
        self.lines = lines

    def url(self) -> str:
        """The base URL from the startup line (``http://127.0.0.1:PORT``)."""
        try:
            line = self.lines.get(timeout=STARTUP_TIMEOUT_S)
        except queue.Empty:
            raise AssertionError(f"no startup line within {STARTUP_TIMEOUT_S} s") from None
        m = re.search(r"serving on (http://127\.0\.0\.1:\d+)/[;\s]", line)
        assert m is not None, line
        assert f'cookie "{COOKIE}"' in line, line
        return m.group(1)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.pump.join(timeout=10)  # EOF once the process has exited
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.log.close()


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[str]:
    served = Demo(tmp_path / "demo.log")
    try:
        yield served.url()
    finally:
        served.stop()


@pytest.fixture
def context(tmp_path: Path) -> Iterator[BrowserContext]:
    """A persistent context on a fresh, empty user-data dir in the test's tmp dir."""
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            timeout=PAGE_TIMEOUT_MS,
        )
        try:
            ctx.set_default_timeout(PAGE_TIMEOUT_MS)
            ctx.set_default_navigation_timeout(PAGE_TIMEOUT_MS)
            yield ctx
        finally:
            ctx.close()


def session_cookie(ctx: BrowserContext) -> Optional[str]:
    values = [c.get("value") for c in ctx.cookies() if c.get("name") == COOKIE]
    assert len(values) <= 1, values
    return values[0] if values else None


def footer(page: Page) -> tuple[str, int, str]:
    """(log id, counter, rule) from the page's footer."""
    text = page.locator("footer").inner_text()
    m = re.search(r"Session (\S+) · counter (\d+) · this request: (\S+)", text)
    assert m is not None, text
    return m.group(1), int(m.group(2)), m.group(3)


class Tab:
    """One browser tab of the logged-in user, checking every page load: 200, logged in as
    ``username``, the same session (log id), and the cookie rolled (the counter advanced)."""

    def __init__(self, page: Page, base: str, username: str, log_id: str) -> None:
        self.page = page
        self.base = base
        self.username = username
        self.log_id = log_id

    def checked(self, response: Optional[Response], before: int) -> int:
        assert response is not None and response.status == 200, response
        who = self.page.locator("header .who strong")
        assert who.inner_text() == self.username, "logged out"
        log_id, counter, rule = footer(self.page)
        assert log_id == self.log_id, "a new session: the old one was lost"
        assert counter > before, f"the page load did not roll the cookie (rule {rule})"
        return counter

    def goto(self, path: str, before: int) -> int:
        return self.checked(self.page.goto(self.base + path), before)

    def click(self, link: str, before: int) -> int:
        with self.page.expect_navigation() as nav:
            self.page.click(f'header nav a[href="{link}"]')
        return self.checked(nav.value, before)

    def fanout_results(self) -> List[str]:
        """Waits for the fan-out script's 6 results and returns their lines."""
        self.page.wait_for_function(
            """(n) => {
                const items = document.querySelectorAll("#results li");
                return items.length === n && Array.from(items).every((li) => li.textContent.startsWith("call "));
            }""",
            arg=FANOUT_CALLS,
            timeout=PAGE_TIMEOUT_MS,
        )
        return self.page.locator("#results li").all_inner_texts()


def submit_form(page: Page, base: str, action: str, username: str) -> None:
    """Fills and submits the real form; the browser follows the 303 to ``/``."""
    page.goto(f"{base}/{action}")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', PASSWORD)
    with page.expect_navigation(url=f"{base}/") as nav:
        page.click('main form button[type="submit"]')
    response = nav.value
    assert response is not None and response.status == 200
    assert response.request.redirected_from is not None, "no 303 before the page"
    redirect = response.request.redirected_from.response()
    assert redirect is not None and redirect.status == 303 and redirect.headers["location"] == "/"


def test_a_browser_session_survives_tabs_and_fanout_and_a_copied_cookie_ends_it(
    demo: str, context: BrowserContext, tmp_path: Path
) -> None:
    base = demo
    page = context.pages[0] if context.pages else context.new_page()

    # Anonymous first visit: a rolling session even so.
    r = page.goto(base + "/")
    assert r is not None and r.status == 200
    assert "You are an anonymous visitor" in page.locator("main").inner_text()
    assert page.locator('header .who a[href="/login"]').count() == 1
    assert session_cookie(context) is not None
    grace = re.search(r"wait ([0-9.]+) seconds \(the grace window\)", page.locator("main").inner_text())
    assert grace is not None
    grace_s = float(grace.group(1))
    default = rolltoken.Policy.default().grace.ms
    assert default is not None and grace_s == default / 1000, "the demo runs Policy.default()"

    # Register, then log in again through the login form: each answers 303 to /.
    username = f"browser{os.getpid()}"
    submit_form(page, base, "register", username)
    assert page.locator("header .who strong").inner_text() == username
    submit_form(page, base, "login", username)
    log_id, counter, rule = footer(page)
    assert page.locator("header .who strong").inner_text() == username

    tab1 = Tab(page, base, username, log_id)
    # Page loads: typed URLs and link clicks, each rolls the cookie.
    counter = tab1.goto("/", counter)
    counter = tab1.click("/security", counter)
    counter = tab1.click("/", counter)
    counter = tab1.goto("/security", counter)

    # The fan-out page: 6 parallel API calls, all authenticated, none rolls the cookie.
    counter = tab1.click("/fanout", counter)
    cookie_after_load = session_cookie(context)
    results = tab1.fanout_results()
    assert len(results) == FANOUT_CALLS, results
    for line in results:
        assert "HTTP 200" in line and f"logged in as {username}" in line, line
        assert f"session {log_id}" in line, line
    assert session_cookie(context) == cookie_after_load, "an API call rolled the cookie"
    counter = tab1.goto("/", counter)

    # A second tab in the same context, used alternately with the first.
    tab2 = Tab(context.new_page(), base, username, log_id)
    for path in ("/", "/security", "/fanout", "/"):
        counter = tab2.goto(path, counter)
        if path == "/fanout":
            assert all(f"logged in as {username}" in x for x in tab2.fanout_results())
        counter = tab1.goto(path, counter)
    counter = tab2.click("/fanout", counter)
    assert all(f"logged in as {username}" in x for x in tab2.fanout_results())
    counter = tab1.click("/security", counter)
    counter = tab2.goto("/", counter)

    # The cookie is copied out of the browser into a separate client; the browser moves on.
    copy = session_cookie(context)
    assert copy is not None
    counter = tab1.goto("/", counter)
    moved_on = time.monotonic()
    assert session_cookie(context) != copy
    time.sleep(max(0.0, moved_on + grace_s + 0.5 - time.monotonic()))  # past the grace window

    with httpx.Client(
        base_url=base,
        headers={"Cookie": f"{COOKIE}={copy}", "User-Agent": UA_THIEF},
        follow_redirects=False,
        timeout=PAGE_TIMEOUT_MS / 1000,
    ) as thief:
        caught = thief.get("/")
    assert caught.status_code == 401, caught.text
    assert "used from two places" in caught.text
    assert f"<code>{log_id}</code>" in caught.text

    # The browser's next page load: the explanation page, and the cookie is gone.
    explained = tab1.page.goto(base + "/")
    assert explained is not None and explained.status == 401
    assert tab1.page.title().startswith("Your session was used from two places")
    main = tab1.page.locator("main").inner_text()
    assert "presented by two different clients" in main and log_id in main
    assert tab1.page.locator('main a[href="/login"]').count() == 1
    assert tab1.page.locator('main a[href="/security"]').count() == 1
    assert tab1.page.locator("header .who strong").count() == 0, "still shown as logged in"
    cleared = [h["value"] for h in explained.headers_array() if h["name"].lower() == "set-cookie"]
    assert len(cleared) == 1 and cleared[0].startswith(f"{COOKIE}=;"), cleared
    # The cookie is gone; the page's own stylesheet request may already have started a new
    # anonymous session (a new visitor's first cookie), never the old one.
    now = session_cookie(context)
    if now is not None:
        parsed = rolltoken.parse_token(now)
        assert parsed.log_id != log_id
        assert parsed.claims is not None and not parsed.claims.authenticated
    shot = tmp_path / "explanation.png"
    tab1.page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0
    # The other tab, too, is logged out now.
    other = tab2.page.goto(base + "/")
    assert other is not None and other.status == 200
    assert tab2.page.locator("header .who strong").count() == 0

    # Logged in again, the security page lists the reuse, revealed by the other client.
    submit_form(tab1.page, base, "login", username)
    r = tab1.page.goto(base + "/security")
    assert r is not None and r.status == 200
    reuse = tab1.page.locator("tr.ev-reuse")
    assert reuse.count() == 1
    row = reuse.inner_text()
    assert log_id in row and "Safari on 127.0.0.x" in row, row
    assert "ended (used from two places)" in tab1.page.locator("main").inner_text()
