"""The demo's HTML. Every value that reaches a page goes through :func:`html.escape`; the
pages show log ids, never a token. Script and style are separate files (a strict CSP)."""

from __future__ import annotations

import html
import time
from typing import List, Optional, Sequence

from ._store import Event, SessionEntry

__all__ = [
    "FANOUT_CALLS",
    "FANOUT_JS",
    "STYLE_CSS",
    "explanation",
    "fanout",
    "form_page",
    "home",
    "message",
    "security",
    "security_anonymous",
]

#: How many parallel API calls the fan-out page's script fires.
FANOUT_CALLS = 6


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def when(t: Optional[float]) -> str:
    if t is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t))


class Frame:
    """What every page shows about the request's session (from the middleware's context)."""

    __slots__ = ("username", "log_id", "counter", "rule")

    def __init__(self, username: Optional[str], log_id: Optional[str], counter: Optional[int], rule: str) -> None:
        self.username = username
        self.log_id = log_id
        self.counter = counter
        self.rule = rule


def layout(title: str, body: str, frame: Optional[Frame]) -> str:
    if frame is not None and frame.username is not None:
        who = (
            f'<span>Logged in as <strong>{esc(frame.username)}</strong></span>'
            '<form method="post" action="/logout" class="inline">'
            '<button type="submit">Log out</button></form>'
        )
    else:
        who = '<a href="/login">Log in</a> <a href="/register">Register</a>'
    if frame is not None and frame.log_id is not None:
        counter = "-" if frame.counter is None else str(frame.counter)
        footer = (
            f"Session <code>{esc(frame.log_id)}</code> &middot; counter {esc(counter)} &middot; "
            f"this request: <code>{esc(frame.rule)}</code> &middot; the cookie itself is never shown"
        )
    else:
        footer = "No session on this request."
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{esc(title if title == "rolltoken demo" else title + " - rolltoken demo")}</title>'
        '<link rel="stylesheet" href="/static/demo.css"></head>\n<body>\n'
        '<header><nav><a href="/">Home</a> <a href="/fanout">Fan-out</a> '
        f'<a href="/security">Security</a></nav><div class="who">{who}</div></header>\n'
        f"<main>\n<h1>{esc(title)}</h1>\n{body}\n</main>\n"
        f'<footer>{footer}</footer>\n</body></html>\n'
    )


def home(frame: Frame, cookie_name: str, host: str, grace_s: float, rolled: bool) -> str:
    if frame.username is not None:
        state = f"You are logged in as <strong>{esc(frame.username)}</strong>."
    elif frame.log_id is not None:
        state = "You are an anonymous visitor: even that is a rolling session."
    else:
        state = "You have no session."
    roll = (
        "This page load set a new cookie (rule <code>" + esc(frame.rule) + "</code>)."
        if rolled
        else "This request kept the cookie (rule <code>" + esc(frame.rule) + "</code>)."
    )
    curl = (
        f"curl -H 'Accept: text/html' -H 'Cookie: {esc(cookie_name)}=PASTE' http://{esc(host)}/"
    )
    body = f"""<p>{state} {roll}</p>
<p>Every page load rolls the session cookie to a new HMAC-tagged token; a copy used out of
sequence proves that two parties hold the session, and the session is ended for both.</p>
<h2>Try it</h2>
<ol>
<li><a href="/register">Register</a>, then reload this page: the counter in the footer
advances, the log id stays.</li>
<li>Open <a href="/fanout">Fan-out</a>: its script fires {FANOUT_CALLS} API calls in parallel;
they read the session without rolling it, so none of them sets a cookie.</li>
<li>Copy the cookie (developer tools, Storage, Cookies, <code>{esc(cookie_name)}</code>), reload
this page so that your cookie moves on, wait {esc(f"{grace_s:g}")} seconds (the grace window),
then replay the copy from another client:<br><code>{curl}</code><br>Reload this page: the session has
ended for both of you, and a page explains why.</li>
<li>Log in again and open <a href="/security">Security</a>: your sessions and the events,
the reuse included.</li>
</ol>"""
    return layout("rolltoken demo", body, frame)


def form_page(action: str, frame: Frame, username: str = "", error: str = "") -> str:
    title = "Register" if action == "register" else "Log in"
    err = f'<p class="error">{esc(error)}</p>' if error else ""
    other = (
        '<p>Have an account? <a href="/login">Log in</a>.</p>'
        if action == "register"
        else '<p>New here? <a href="/register">Register</a>.</p>'
    )
    autocomplete = "new-password" if action == "register" else "current-password"
    body = f"""{err}<form method="post" action="/{esc(action)}">
<label>Username <input name="username" value="{esc(username)}" required maxlength="32"
autocomplete="username" autofocus></label>
<label>Password <input name="password" type="password" required minlength="8" maxlength="256"
autocomplete="{autocomplete}"></label>
<button type="submit">{esc(title)}</button>
</form>
{other}"""
    return layout(title, body, frame)


def fanout(frame: Frame) -> str:
    body = f"""<p>This page load advanced the session (the cookie rolled). The script below then fires
{FANOUT_CALLS} calls to <code>/api/me</code> at once. API calls only read the session: they
verify the cookie without rolling it, so they never race each other or the next page load,
and none of the responses sets a cookie.</p>
<p><button type="button" id="again">Fire {FANOUT_CALLS} calls again</button></p>
<ol id="results" data-calls="{FANOUT_CALLS}"><li>Waiting for the script&hellip;</li></ol>
<script src="/static/fanout.js" defer></script>"""
    return layout("Parallel API calls", body, frame)


def security(frame: Frame, sessions: Sequence[SessionEntry], events: Sequence[Event]) -> str:
    rows: List[str] = []
    for s in sessions:
        if s.ended is not None:
            state = f"ended ({esc(_END_REASONS.get(s.end_reason or '', s.end_reason))}) {esc(when(s.ended))}"
        elif s.log_id == frame.log_id:
            state = "<strong>this session</strong>"
        else:
            state = "active"
        rows.append(
            f"<tr><td><code>{esc(s.log_id)}</code></td><td>{esc(when(s.created))}</td>"
            f"<td>{esc(when(s.last_seen))}</td><td>{esc(s.client)}</td><td>{state}</td></tr>"
        )
    session_table = (
        "<table><thead><tr><th>Session</th><th>Started</th><th>Last seen</th><th>Client</th>"
        "<th>State</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
        if rows
        else "<p>No sessions.</p>"
    )
    erows: List[str] = []
    for e in events:
        what = _EVENT_TEXT.get(e.kind, e.kind)
        erows.append(
            f'<tr class="ev-{esc(e.kind)}"><td>{esc(when(e.at))}</td><td><code>{esc(e.kind)}</code> '
            f"{esc(what)}</td><td><code>{esc(e.log_id or '-')}</code></td><td>{esc(e.client)}</td>"
            f"<td>{esc(e.detail)}</td></tr>"
        )
    event_table = (
        "<table><thead><tr><th>Time</th><th>Event</th><th>Session</th><th>Client</th>"
        "<th>Detail</th></tr></thead><tbody>" + "".join(erows) + "</tbody></table>"
        if erows
        else "<p>No events.</p>"
    )
    body = f"""<p>Sessions are named by log ids (a hash of the session id); clients by browser
family and network prefix.</p>
<h2>Sessions</h2>
{session_table}
<h2>Events</h2>
{event_table}"""
    return layout("Security", body, frame)


def security_anonymous(frame: Frame) -> str:
    body = """<p>This page lists your account's sessions and security events:
<a href="/login">log in</a> to see them.</p>
<p>If a page just told you that your session was used from two places, log in again: the
event is listed here.</p>"""
    return layout("Security", body, frame)


def explanation(log_id: Optional[str], ended: Optional[float]) -> str:
    """The page after a detected reuse, for whoever presents the session's cookie."""
    sid = f"<code>{esc(log_id)}</code>" if log_id else "this session"
    at = f" at {esc(when(ended))}" if ended is not None else ""
    body = f"""<p>The cookie of session {sid} was presented by two different clients: one of them
sent a copy that was older than the cookie the session had already moved on to. rolltoken
cannot tell which of the two is you, so it ended the session everywhere{at}. Whoever
holds a copy of the cookie now holds nothing.</p>
<h2>What now</h2>
<ol>
<li><a href="/login">Log in again</a>: you get a new session with a new cookie.</li>
<li>Open <a href="/security">Security</a>: it lists this event, with the browser family and
network of the request that revealed the copy, and your other sessions.</li>
<li>If that was not you, something had a copy of your cookie (a browser extension, malware, a
synced backup): check your devices. In a real application, also change your password.</li>
</ol>"""
    return layout("Your session was used from two places", body, None)


def message(title: str, text: str, frame: Optional[Frame] = None) -> str:
    return layout(title, f"<p>{esc(text)}</p>", frame)


_END_REASONS = {
    "logout": "logged out",
    "reuse": "used from two places",
    "upgraded_at_login": "replaced by a new login",
}

_EVENT_TEXT = {
    "register": "account created",
    "login": "logged in",
    "login_failed": "wrong password",
    "logout": "logged out",
    "upgraded_at_login": "session replaced by a new login",
    "reuse": "cookie used from two places: session ended everywhere",
    "revoked": "a request with this ended session's cookie was refused",
    "expired": "a request with this expired session was refused",
    "forged": "a request with a forged cookie for this session was refused",
    "malformed": "a request with a damaged cookie was refused",
    "unknown_session": "a request for a session the server no longer knows was refused",
    "binding_mismatch": "a request from another browser or network was refused",
    "grace_exhausted": "too many racing requests: asked to retry",
    "busy": "the session was busy: asked to retry",
    "store_unavailable": "the session store was unavailable: asked to retry",
    "concurrent_in_grace": "a racing request with an older cookie was accepted (grace window)",
    "lost_response": "a lost response was repaired: the current cookie was re-sent",
    "cookie_jar_behind": "the cookie jar went back: the current cookie was re-sent",
    "store_behind": "the store was behind the cookie and was repaired",
    "refused": "a request was refused",
}

STYLE_CSS = b"""body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1b1b1b;background:#fafafa}
header{display:flex;justify-content:space-between;align-items:center;gap:1em;padding:.6em 1.2em;background:#24324a;color:#fff}
header a{color:#fff;margin-right:1em}header .who{display:flex;gap:.8em;align-items:center}
main{max-width:60em;margin:1.5em auto;padding:0 1.2em}
footer{max-width:60em;margin:2em auto;padding:.8em 1.2em;color:#555;border-top:1px solid #ddd;font-size:.9em}
form.inline{display:inline}label{display:block;margin:.6em 0}input{display:block;padding:.3em;min-width:18em}
button{padding:.35em .9em}.error{color:#a40000;font-weight:600}
table{border-collapse:collapse;width:100%;font-size:.92em}th,td{border-bottom:1px solid #ddd;padding:.35em .5em;text-align:left;vertical-align:top}
tr.ev-reuse td{background:#fde8e8}code{background:#eef;padding:0 .2em;word-break:break-all}
"""

FANOUT_JS = b"""\"use strict\";
(function () {
  var list = document.getElementById("results");
  var calls = Number(list.getAttribute("data-calls")) || 6;
  function line(text) {
    var li = document.createElement("li");
    li.textContent = text;
    list.appendChild(li);
  }
  function one(i, t0) {
    return fetch("/api/me", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        return r.json().then(function (body) {
          var ms = Math.round(performance.now() - t0);
          return "call " + i + ": HTTP " + r.status + ", " + (body.authenticated ? "logged in as " + body.username : "anonymous") +
            ", session " + body.log_id + ", rule " + body.rule + ", " + ms + " ms";
        });
      })
      .catch(function (e) { return "call " + i + ": failed: " + e; });
  }
  function run() {
    list.textContent = "";
    var t0 = performance.now(), all = [];
    for (var i = 1; i <= calls; i++) all.push(one(i, t0));
    Promise.all(all).then(function (texts) { texts.forEach(line); });
  }
  document.getElementById("again").addEventListener("click", run);
  run();
})();
"""
