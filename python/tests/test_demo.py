"""The demo web app (``rolltoken.demo``) over real HTTP: its threading wsgiref server on a free
127.0.0.1 port, driven by httpx with cookies managed by hand (so that a test can copy and
replay them). The policy's grace window is shortened so that a replay can wait it out in
under a second. Every response body and every log record is checked for tokens: the demo
shows log ids, never a token.
"""

from __future__ import annotations

import hashlib
import http.cookiejar
import io
import itertools
import json
import logging
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, Iterator, List, Mapping, Optional, Set, Tuple

import httpx
import pytest

import rolltoken
from rolltoken.cli import main as cli_main
from rolltoken.demo import DemoApp, cross_site, is_loopback, make_app, make_server

NAME = rolltoken.CookieConfig.insecure_local().name
UA_FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
UA_SAFARI = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15"
NAV = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Dest": "document", "Accept": "text/html"}
API = {"Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "same-origin", "Accept": "application/json"}
GRACE_MS = 300
WAIT_S = 5.0  # upper bound of any single wait in this file
PASSWORD = "correct horse battery"
_names = itertools.count(1)


def no_jar() -> http.cookiejar.CookieJar:
    """A cookie jar that keeps nothing: the tests hold the cookie themselves."""
    return http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))


def set_cookie_lines(r: httpx.Response) -> List[str]:
    return [v for v in r.headers.get_list("set-cookie") if v.partition("=")[0].strip() == NAME]


def cookie_of(r: httpx.Response) -> Optional[str]:
    """The response's cookie: ``None`` without a Set-Cookie, ``""`` when it clears it."""
    lines = set_cookie_lines(r)
    assert len(lines) <= 1, "at most one Set-Cookie per response"
    if not lines:
        return None
    value = lines[0].partition("=")[2].split(";", 1)[0].strip()
    return "" if not value or "max-age=0" in lines[0].lower() else value


class Site:
    """The running demo: its app (for white-box checks) and every token it ever handed out."""

    def __init__(self, app: DemoApp, base: str) -> None:
        self.app = app
        self.base = base
        self.host = base.split("//", 1)[1]
        self.tokens: Set[str] = set()
        self._lock = threading.Lock()

    def saw(self, r: httpx.Response) -> None:
        value = cookie_of(r)
        with self._lock:
            if value:
                self.tokens.add(value)
            shown = [t for t in self.tokens if t in r.text]
        assert not shown, f"{r.request.method} {r.request.url.path} rendered a token"

    def browser(self, ua: str = UA_FIREFOX, cookie: Optional[str] = None) -> Browser:
        return Browser(self, ua, cookie)


class Browser:
    """One client: its user agent and the cookie it holds (updated from each Set-Cookie)."""

    def __init__(self, site: Site, ua: str, cookie: Optional[str]) -> None:
        self.site = site
        self.cookie = cookie
        self.client = httpx.Client(
            base_url=site.base,
            timeout=WAIT_S,
            follow_redirects=False,
            cookies=no_jar(),
            headers={"User-Agent": ua},
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    def send(
        self, method: str, path: str, headers: Mapping[str, str], data: Optional[Dict[str, str]] = None,
        content: Optional[bytes] = None,
    ) -> httpx.Response:
        h = dict(headers)
        if self.cookie:
            h["Cookie"] = f"{NAME}={self.cookie}"
        r = self.client.request(method, path, headers=h, data=data, content=content)
        self.site.saw(r)
        value = cookie_of(r)
        if value is not None:
            self.cookie = value or None
        return r

    def page(self, path: str = "/", **headers: str) -> httpx.Response:
        return self.send("GET", path, {**NAV, **headers})

    def api(self, path: str = "/api/me") -> httpx.Response:
        return self.send("GET", path, API)

    def me(self) -> Dict[str, object]:
        r = self.api()
        assert r.status_code == 200, r.text
        body: Dict[str, object] = r.json()
        return body

    def post(self, path: str, data: Optional[Dict[str, str]] = None,
             headers: Optional[Mapping[str, str]] = None) -> httpx.Response:
        """A form POST as a browser sends it from this site's own page (unless ``headers``)."""
        same_origin = {**NAV, "Origin": self.site.base}
        return self.send("POST", path, same_origin if headers is None else headers, data=data or {})

    def close(self) -> None:
        self.client.close()


def new_name() -> str:
    return f"user{next(_names)}_{os.getpid()}"


def register(b: Browser, username: Optional[str] = None) -> str:
    username = username or new_name()
    b.page("/register")
    r = b.post("/register", {"username": username, "password": PASSWORD})
    assert r.status_code == 303 and r.headers["location"] == "/", r.text
    return username


def login(b: Browser, username: str) -> httpx.Response:
    b.page("/login")
    r = b.post("/login", {"username": username, "password": PASSWORD})
    assert r.status_code == 303 and r.headers["location"] == "/", r.text
    return r


def footer_counter(r: httpx.Response) -> int:
    m = re.search(r"counter (\d+)", r.text)
    assert m is not None, r.text
    return int(m.group(1))


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    policy = rolltoken.Policy.default().replace(grace=rolltoken.Grace.fixed(GRACE_MS))
    app = make_app(policy=policy, insecure=True)
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Site(app, f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(WAIT_S)


@pytest.fixture(autouse=True)
def no_token_logged(caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest) -> Iterator[None]:
    caplog.set_level(logging.INFO)
    yield
    if "site" in request.fixturenames:
        tokens = request.getfixturevalue("site").tokens
        logged = [r.getMessage() for r in caplog.records]
        assert not [m for m in logged for t in tokens if t in m], "a token was logged"


# ----------------------------------------------------------------------------------------------


def test_an_anonymous_visit_gets_a_cookie(site: Site) -> None:
    b = site.browser()
    r = b.page("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    (line,) = set_cookie_lines(r)
    assert "HttpOnly" in line and "SameSite=Lax" in line and "Secure" not in line
    assert b.cookie is not None and b.cookie.startswith("rtf1_")  # anonymous: a full token
    me = b.me()
    assert me["authenticated"] is False and me["username"] is None
    assert isinstance(me["log_id"], str) and me["log_id"] in r.text  # the page shows its log id
    assert "Log in" in r.text and "Register" in r.text


def test_register_and_login_rotate_the_session_id(site: Site) -> None:
    b = site.browser()
    b.page("/")
    anonymous = b.me()["log_id"]
    form = b.page("/register")
    assert form.status_code == 200 and 'name="username"' in form.text and 'name="password"' in form.text
    username = new_name()
    r = b.post("/register", {"username": username, "password": PASSWORD})
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert b.cookie is not None and b.cookie.startswith("rtc1_")  # Policy.default(): compact
    me = b.me()
    assert me["authenticated"] is True and me["username"] == username
    assert me["log_id"] != anonymous
    assert b.post("/logout").status_code == 303
    r = login(b, username)
    again = b.me()
    assert again["authenticated"] is True and again["username"] == username
    assert again["log_id"] not in (anonymous, me["log_id"])


def test_page_loads_roll_the_cookie_and_keep_the_session(site: Site) -> None:
    b = site.browser()
    register(b)
    log_id = b.me()["log_id"]
    cookies, counters = [b.cookie], []
    for _ in range(3):
        r = b.page("/")
        assert r.status_code == 200 and cookie_of(r), "every page load rolls"
        cookies.append(b.cookie)
        counters.append(footer_counter(r))
    assert len(set(cookies)) == 4
    assert counters == [counters[0], counters[0] + 1, counters[0] + 2]
    assert b.me()["log_id"] == log_id
    # Page routes advance for plain clients too (no Fetch Metadata, Accept: */*); /api/me reads
    # even when navigated to; a prefetch of a page reads.
    before = b.cookie
    plain = b.send("GET", "/", {})
    assert cookie_of(plain) and b.cookie != before
    for r in (b.send("GET", "/api/me", NAV), b.page("/", **{"Sec-Purpose": "prefetch", "Sec-Fetch-Dest": "empty"})):
        assert r.status_code == 200 and cookie_of(r) is None


def test_fanout_parallel_api_calls_all_succeed_and_set_no_cookie(site: Site) -> None:
    b = site.browser()
    username = register(b)
    page = b.page("/fanout")
    assert page.status_code == 200 and cookie_of(page), "the fan-out page itself advances"
    assert 'src="/static/fanout.js"' in page.text and 'data-calls="6"' in page.text
    script = b.send("GET", "/static/fanout.js", {"Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "script"})
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert 'fetch("/api/me"' in script.text and "Promise.all" in script.text
    assert cookie_of(script) is None
    cookie = b.cookie
    start = threading.Barrier(6)
    tabs = [site.browser(cookie=cookie) for _ in range(6)]

    def call(tab: Browser) -> httpx.Response:
        start.wait(WAIT_S)
        return tab.api()

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(call, tabs))
    for r in answers:
        assert r.status_code == 200 and set_cookie_lines(r) == []
        assert r.json()["authenticated"] is True and r.json()["username"] == username
    assert {r.json()["log_id"] for r in answers} == {b.me()["log_id"]}
    assert b.page("/").status_code == 200, "the page's cookie still advances afterwards"


def test_the_server_answers_requests_in_parallel(site: Site) -> None:
    # A client that never finishes its request holds one handler thread; with a thread per
    # request the next client is still served at once.
    with socket.create_connection(("127.0.0.1", int(site.base.rsplit(":", 1)[1])), timeout=WAIT_S) as stuck:
        stuck.sendall(b"GET /api/me HTTP/1.1\r\nHost: x\r\n")
        t0 = time.monotonic()
        r = httpx.get(site.base + "/api/me", headers=API, timeout=2.0)
        assert r.status_code == 200 and time.monotonic() - t0 < 2.0


def test_security_lists_the_accounts_sessions_and_events(site: Site) -> None:
    anonymous = site.browser().page("/security")
    assert anonymous.status_code == 200 and "log in" in anonymous.text
    laptop = site.browser(UA_FIREFOX)
    username = register(laptop)
    first = laptop.me()["log_id"]
    phone = site.browser(UA_SAFARI)
    login(phone, username)
    second = phone.me()["log_id"]
    wrong = site.browser(UA_SAFARI).post("/login", {"username": username, "password": "not the password"})
    assert wrong.status_code == 400 and "Wrong username or password" in wrong.text
    login(laptop, username)  # over the laptop's own session: a new id, the old one retired
    third = laptop.me()["log_id"]
    r = laptop.page("/security")
    assert r.status_code == 200
    for log_id in (first, second, third):
        assert f"<code>{log_id}</code>" in r.text
    assert "<strong>this session</strong>" in r.text
    assert "Firefox on 127.0.0.x" in r.text and "Safari on 127.0.0.x" in r.text
    assert "replaced by a new login" in r.text
    for event in ("register", "login", "login_failed", "upgraded_at_login"):
        assert f"<code>{event}</code>" in r.text, event


def test_logout_clears_the_cookie_and_the_old_cookie_is_refused(site: Site) -> None:
    b = site.browser()
    username = register(b)
    b.page("/")
    old, log_id = b.cookie, b.me()["log_id"]
    r = b.post("/logout")
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert cookie_of(r) == "" and b.cookie is None
    replay = site.browser(cookie=old)
    page = replay.page("/")
    assert page.status_code == 401 and cookie_of(page) == ""
    api = site.browser(cookie=old).api()
    assert api.status_code == 401 and api.headers["content-type"] == "application/problem+json"
    assert api.json()["rule"] == "revoked" and api.json()["log_id"] == log_id
    assert b.page("/").status_code == 200 and b.me()["authenticated"] is False
    login(b, username)
    r = b.page("/security")
    assert "ended (logged out)" in r.text and "<code>revoked</code>" in r.text


def test_a_copied_cookie_replayed_after_the_user_moved_on_ends_the_session(site: Site) -> None:
    user = site.browser(UA_FIREFOX)
    username = register(user)
    user.page("/")
    log_id = user.me()["log_id"]
    copy = user.cookie
    assert user.page("/").status_code == 200  # the user moves on: the copy is now behind
    time.sleep(GRACE_MS / 1000 + 0.2)  # past the grace window
    thief = site.browser(UA_SAFARI, cookie=copy)
    caught = thief.page("/")
    assert caught.status_code == 401 and cookie_of(caught) == ""
    assert "used from two places" in caught.text
    # The user's next page load: the explanation page, and the cookie is cleared.
    r = user.page("/")
    assert r.status_code == 401 and r.headers["content-type"].startswith("text/html")
    assert "Your session was used from two places" in r.text and f"<code>{log_id}</code>" in r.text
    assert 'href="/login"' in r.text and 'href="/security"' in r.text
    assert cookie_of(r) == "" and user.cookie is None
    assert r.headers["cache-control"] == "no-store"
    # Scripts still get problem+json, not the page.
    api = site.browser(cookie=copy).api()
    assert api.status_code == 401 and api.json()["log_id"] == log_id
    login(user, username)
    sec = user.page("/security")
    assert sec.status_code == 200
    reuse = re.search(r'<tr class="ev-reuse">(.*?)</tr>', sec.text)
    assert reuse is not None and f"<code>{log_id}</code>" in reuse.group(1)
    assert "Safari on 127.0.0.x" in reuse.group(1), "the event names the client that revealed the copy"
    assert "ended (used from two places)" in sec.text


def test_cross_site_posts_are_refused(site: Site) -> None:
    b = site.browser()
    username = register(b)
    evil = "http://evil.example"
    for headers in (
        {**NAV, "Sec-Fetch-Site": "cross-site", "Origin": evil},
        {**NAV, "Sec-Fetch-Site": "same-site", "Origin": evil},
        {"Origin": evil},  # no Fetch Metadata: Origin against Host
        {"Origin": "null"},
    ):
        r = b.post("/logout", headers=headers)
        assert r.status_code == 403, headers
        assert b.me()["authenticated"] is True, "the session survived"
    assert b.post("/logout").status_code == 303
    for path, name in (("/login", username), ("/register", new_name())):
        r = b.post(path, {"username": name, "password": PASSWORD}, headers={**NAV, "Sec-Fetch-Site": "cross-site", "Origin": evil})
        assert r.status_code == 403 and "Cross-site request refused" in r.text
        assert b.me()["authenticated"] is False
    assert site.app.store.account(name) is None, "no account from a cross-site register"
    # Same origin by Origin alone, and a client that sends neither header (curl), pass.
    host_only = b.post("/login", {"username": username, "password": PASSWORD}, headers={"Origin": site.base})
    assert host_only.status_code == 303
    assert site.browser().post("/login", {"username": username, "password": PASSWORD}, headers={}).status_code == 303
    assert cross_site({"REQUEST_METHOD": "POST", "HTTP_SEC_FETCH_SITE": "none"}) is False


def test_forms_validate_and_escape_what_the_user_typed(site: Site) -> None:
    b = site.browser()
    r = b.post("/register", {"username": "<script>alert(1)</script>", "password": PASSWORD})
    assert r.status_code == 400 and "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    assert "<script>alert" not in r.text
    username = register(site.browser())
    taken = b.post("/register", {"username": username.upper(), "password": PASSWORD})
    assert taken.status_code == 400 and "taken" in taken.text
    short = b.post("/register", {"username": new_name(), "password": "short"})
    assert short.status_code == 400
    for name, password in ((username, "wrong password"), ("nobody" + username, PASSWORD)):
        r = b.post("/login", {"username": name, "password": password})
        assert r.status_code == 400 and "Wrong username or password" in r.text
    assert b.me()["authenticated"] is False
    big = b.post("/login", {"username": "x", "password": "y" * 9000})
    assert big.status_code == 413
    multipart = b.send("POST", "/login", {**NAV, "Origin": site.base, "Content-Type": "multipart/form-data; boundary=x"}, content=b"--x--")
    assert multipart.status_code == 415
    assert b.page("/nowhere").status_code == 404
    wrong_method = b.send("GET", "/logout", NAV)
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "POST"


def test_passwords_are_hashed_with_scrypt_and_a_salt_per_user(site: Site) -> None:
    one, two = register(site.browser()), register(site.browser())
    a, b = site.app.store.account(one), site.app.store.account(two)
    assert a is not None and b is not None
    assert len(a.salt) == 16 and a.salt != b.salt and a.password_hash != b.password_hash
    expected = hashlib.scrypt(PASSWORD.encode(), salt=a.salt, n=2**14, r=8, p=1, dklen=32)
    assert a.password_hash == expected


def test_refusals_are_recorded_even_without_the_logger(site: Site) -> None:
    b = site.browser()
    username = register(b)
    old = b.cookie
    b.post("/logout")
    logging.disable(logging.CRITICAL)
    try:
        assert site.browser(cookie=old).page("/").status_code == 401
    finally:
        logging.disable(logging.NOTSET)
    login(b, username)
    assert "<code>refused</code>" in b.page("/security").text


# ----------------------------------------------------------------------------------------------
# The command line: `python -m rolltoken demo` and `python -m rolltoken.demo`.


def test_the_demo_refuses_non_loopback_hosts() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.1") and not is_loopback("example.com")
    out, err = io.StringIO(), io.StringIO()
    assert cli_main(["demo", "--host", "0.0.0.0", "--port", "0"], out, err) == 2
    assert "--allow-remote" in err.getvalue() and out.getvalue() == ""


class Served:
    """A demo process: its startup line, and a clean stop (SIGINT) with its exit status."""

    def __init__(self, args: List[str], env: Dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, *args, "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
        )
        lines: queue.Queue[str] = queue.Queue()
        assert self.proc.stdout is not None
        stdout = self.proc.stdout

        def pump() -> None:
            for line in stdout:
                lines.put(line)

        threading.Thread(target=pump, daemon=True).start()
        self.lines = lines

    def startup(self) -> Tuple[str, str]:
        try:
            line = self.lines.get(timeout=WAIT_S * 2)
        except queue.Empty:
            self.proc.kill()
            raise AssertionError("no startup line") from None
        m = re.search(r"serving on (http://\S+?/)[;\s]", line)
        assert m is not None, line
        return line, m.group(1)

    def stop(self) -> Tuple[int, str]:
        self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=WAIT_S * 2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            raise
        return self.proc.returncode, err


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT")
@pytest.mark.parametrize("module", ["rolltoken", "rolltoken.demo"])
def test_the_demo_command_serves_and_stops(module: str) -> None:
    secret = io.StringIO()
    assert cli_main(["keygen", "--id", "4"], secret) == 0
    keys = secret.getvalue().strip()
    env = {"ROLLTOKEN_DEMO_INSECURE": "1", "ROLLTOKEN_KEYS": keys} if module == "rolltoken" else {
        "ROLLTOKEN_DEMO_INSECURE": "", "ROLLTOKEN_KEYS": ""
    }
    served = Served(["-m", module] + (["demo"] if module == "rolltoken" else []), env)
    try:
        line, url = served.startup()
        assert url.startswith("http://127.0.0.1:")
        if module == "rolltoken":
            assert "ROLLTOKEN_DEMO_INSECURE=1" in line and "keys 4 from ROLLTOKEN_KEYS" in line
            assert keys.split(":", 1)[1] not in line, "the key is never printed"
        else:
            assert "a fresh random key for this run" in line and "__Host-rolltoken" in line
            assert "set ROLLTOKEN_DEMO_INSECURE=1" in line
        r = httpx.get(url + "api/me", timeout=WAIT_S)
        assert r.status_code == 200 and r.json()["authenticated"] is False
    finally:
        status, err = served.stop()
    assert status == 0
    assert '"GET /api/me HTTP/1.1" 200' in err


def test_demo_sh_is_valid_bash() -> None:
    script = Path(__file__).resolve().parents[1] / "demo.sh"
    assert script.is_file()
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    done = subprocess.run([bash, "-n", str(script)], capture_output=True, text=True, timeout=WAIT_S)
    assert done.returncode == 0, done.stderr
    text = script.read_text()
    assert "ROLLTOKEN_DEMO_INSECURE=1" in text and "${PORT:-8000}" in text


def test_api_me_is_json_with_the_documented_fields(site: Site) -> None:
    b = site.browser()
    b.page("/")
    body = json.loads(b.api().text)
    assert {"authenticated", "username", "log_id"} <= set(body)
