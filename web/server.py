"""Serving the web chat safely: start-up checks, a login gate over every route, a login rate limit.

`serve()` is what `dsqa serve` and `python app.py` run: it checks the address, credentials and port
before anything slow (a bad one is a `ServeError`, one line), indexes, then serves `web.page.build_app`
with the page's script and style (`web/assets/`, package data).
With `--auth`, `LoginGate` (ASGI middleware) answers 401 to every route but the login page and its
static files, including Gradio's own `/gradio_api/cancel` and `/gradio_api/reset`, which Gradio
leaves open, and it rate-limits failed logins per client and overall (`limits`, a moving window).
The same server answers programs (`program_routes`): the OpenAI-compatible API (`web/openai_api.py`)
and MCP (`web/mcp_server.py`); the gate lets them in with the login cookie or a Bearer key, and
limits them to 120 requests a minute per client address (600 in all).
`RequestLimits` bounds every request body (1 MB; uploads, ten files' worth) before it is read whole,
and keeps files of kinds the loaders do not read out of the uploads folder.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import socket
import time
from collections.abc import Callable
from pathlib import Path

import gradio as gr
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from bot import Bot
from knowledge.uploads import accepted_suffixes
from web.mcp_server import MCP_PATH, build_mcp_server, http_app
from web.openai_api import OpenAIRoutes
from web.page import build_app, theme

ASSETS = Path(__file__).resolve().parent / "assets"  # the page's script and style, shipped as package data

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 7860
AUTH_ENV = "DSQA_AUTH"  # "user:pass", the alternative to --auth
FAILED_LOGINS_PER_CLIENT = parse("5/minute")
FAILED_LOGINS_OVERALL = parse("30/minute")  # clients can change address; the total is bounded too
PROGRAM_REQUESTS_PER_CLIENT = parse("120/minute")  # /v1/… and /mcp, once let in
PROGRAM_REQUESTS_OVERALL = parse("600/minute")

CHAT_BODY_LIMIT = 1_000_000  # bytes: every route but uploads (a question is at most a few kB)
UPLOAD_PATH = "/upload"  # Gradio's file upload route (/gradio_api/upload)
UPLOAD_FILES_PER_REQUEST = 10  # the upload route's body limit is this many files of the size limit

LOGIN_PATHS = frozenset({"/login", "/login/"})
# What the login page itself loads (the page, its scripts, styles and icons), and Gradio's start-up
# probe, which launch() calls without a login (it runs start-up events once; later calls do nothing).
OPEN_PATHS = frozenset(
    {"/", "/favicon.ico", "/theme.css", "/gradio_api/theme.css", "/manifest.json", "/robots.txt"}
    | {"/gradio_api/startup-events"}
)
OPEN_PREFIXES = ("/assets/", "/static/", "/svelte/", "/gradio_api/static/")
# Routes for programs (web/openai_api.py, web/mcp_server.py): a login cookie or `Authorization: Bearer <key>`.
PROGRAM_PREFIXES = ("/v1/", "/mcp")


class ServeError(ValueError):
    """The chat cannot be served as asked (address, credentials, port); the message is one line."""


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and 'localhost'."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """'user:pass' → ('user', 'pass'); None or '' stays None; anything else is a `ServeError`."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user.strip() or not password:
        raise ServeError(f"credentials must look like user:pass (from --auth or ${AUTH_ENV})")
    return user.strip(), password


def check_binding(host: str, auth: tuple[str, str] | None) -> None:
    """Refuse to bind beyond loopback without credentials."""
    if not is_loopback(host) and auth is None:
        raise ServeError(
            f"refusing to serve on {host}, which is reachable beyond this machine, without credentials: "
            f"pass --auth user:pass or set {AUTH_ENV}=user:pass, or keep the default --host {DEFAULT_HOST}"
        )


def check_port_free(host: str, port: int) -> None:
    """Fail now, with one line, when host:port cannot be bound (in use, or not an address of this machine)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server itself will
            probe.bind((host, port))
    except OSError as error:
        reason = error.strerror or str(error)
        raise ServeError(f"cannot serve on {host}:{port}: {reason.lower()} (try another --port)") from None


class LoginGate:
    """ASGI middleware: under a login, every route but the login page needs the session cookie.

    Failed logins are limited per client address and overall; past the limit, /login answers 429.
    """

    def __init__(
        self,
        app,
        api_key: Callable[[], str] = str,
        program_limits: tuple[RateLimitItem, RateLimitItem] = (PROGRAM_REQUESTS_PER_CLIENT, PROGRAM_REQUESTS_OVERALL),
    ):
        self.app = app
        self.api_key = api_key  # reads the key when a request needs it (Settings.api_key); "" when none is set
        self.program_limits = program_limits  # (per client, overall)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    async def __call__(self, scope, receive, send):
        gradio_app = scope.get("app")
        if scope["type"] == "http" and scope["path"].startswith(PROGRAM_PREFIXES):
            return await self._program(scope, receive, send, gradio_app)
        if scope["type"] not in ("http", "websocket") or getattr(gradio_app, "auth", None) is None:
            return await self.app(scope, receive, send)
        path = scope["path"]
        if path in LOGIN_PATHS and scope["type"] == "http":
            return await self._login(scope, receive, send)
        if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES) or _logged_in(scope, gradio_app):
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008})
        response = JSONResponse({"detail": {"error": "Not authenticated"}}, status_code=401)
        await response(scope, receive, send)

    async def _program(self, scope, receive, send, gradio_app):
        """The OpenAI-compatible and MCP routes: open on a loopback server with neither a login nor a key;
        else a valid Bearer key or the page's login cookie. Wrong keys count as failed logins."""
        key = self.api_key()
        login = getattr(gradio_app, "auth", None) is not None
        sent = _bearer(scope)
        if (
            (key and sent and hmac.compare_digest(sent.encode(), key.encode()))
            or (not key and not login)
            or (login and _logged_in(scope, gradio_app))
        ):
            return await self._program_within_limits(scope, receive, send)
        if sent:  # a wrong key: limited like a wrong password
            if (wait := self._failures_wait(scope)) is not None:
                return await _refused(scope, receive, send, wait, "Too many failed logins")
            self._count_failure(scope)
        body = {"error": {"message": "a valid API key (Authorization: Bearer <key>) or a login is needed",
                          "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}}  # fmt: skip
        response = JSONResponse(body, status_code=401, headers={"WWW-Authenticate": "Bearer"})
        await response(scope, receive, send)

    async def _program_within_limits(self, scope, receive, send):
        per_client, overall = self.program_limits
        client = (scope.get("client") or ("unknown",))[0]
        if self.limiter.hit(overall, "all") and self.limiter.hit(per_client, client):
            return await self.app(scope, receive, send)
        body = {"error": {"message": "too many requests; try again in a minute", "type": "rate_limit_error",
                          "param": None, "code": "rate_limit_exceeded"}}  # fmt: skip
        response = JSONResponse(body, status_code=429, headers={"Retry-After": str(int(per_client.get_expiry()))})
        await response(scope, receive, send)

    def _failure_limits(self, scope):
        client = (scope.get("client") or ("unknown",))[0]
        return ((FAILED_LOGINS_PER_CLIENT, client), (FAILED_LOGINS_OVERALL, "all"))

    def _failures_wait(self, scope) -> int | None:
        """Seconds until another failed login may be tried, or None when it may be tried now."""
        limits = self._failure_limits(scope)
        blocked = [(limit, key) for limit, key in limits if not self.limiter.test(limit, key)]
        if not blocked:
            return None
        reset = max(self.limiter.get_window_stats(limit, key).reset_time for limit, key in blocked)
        return max(1, int(reset - time.time()) + 1)

    def _count_failure(self, scope) -> None:
        for limit, key in self._failure_limits(scope):
            self.limiter.hit(limit, key)

    async def _login(self, scope, receive, send):
        if (wait := self._failures_wait(scope)) is not None:
            return await _refused(scope, receive, send, wait, "Too many failed logins")

        status = {}

        async def watch(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        await self.app(scope, receive, watch)
        if status.get("code") in (400, 401, 403):
            self._count_failure(scope)


async def _refused(scope, receive, send, wait: int, reason: str) -> None:
    response = JSONResponse(
        {"detail": f"{reason}; try again in {wait} s."}, status_code=429, headers={"Retry-After": str(wait)}
    )
    await response(scope, receive, send)


def _bearer(scope) -> str:
    """The token of an `Authorization: Bearer <token>` header, or ""."""
    scheme, _, token = HTTPConnection(scope).headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class BodyTooLarge(Exception):
    """A request body went over its route's limit while it was being read."""


class RequestLimits:
    """ASGI middleware: a body limit on every route, checked before the body is read whole, and an
    uploads folder that keeps only article files.

    The limit is `CHAT_BODY_LIMIT` (1 MB) for every route but uploads, whose limit is `upload_limit`.
    A `Content-Length` over it is answered 413 at once; a body without one is counted as it is read
    and cut off at the limit. Files uploaded with a suffix the loaders do not read are deleted when
    the upload request ends, and the request answers 415 naming them.
    """

    def __init__(self, app, upload_limit: int, accepted: tuple[str, ...]):
        self.app, self.upload_limit, self.accepted = app, upload_limit, accepted

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        is_upload = scope["path"].rstrip("/").endswith(UPLOAD_PATH)
        limit = self.upload_limit if is_upload else CHAT_BODY_LIMIT
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return await _too_large(limit, scope, receive, send)
        seen, exceeded, started = 0, False, False

        async def counted():
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def sending(message):
            nonlocal started
            if exceeded:  # the app answers a body cut off (FastAPI: 400); the answer is ours, 413
                if not started:
                    started = True
                    await _too_large(limit, scope, _no_body, send)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            if is_upload:
                return await self._upload(scope, counted, sending)
            return await self.app(scope, counted, sending)
        except BodyTooLarge:
            if not started:
                started = True
                await _too_large(limit, scope, _no_body, send)

    async def _upload(self, scope, receive, send):
        """Run the upload, hold its (small, JSON) answer, and drop files of kinds we do not read."""
        held: list[dict] = []

        async def hold(message):
            held.append(message)

        await self.app(scope, receive, hold)
        start = next((m for m in held if m["type"] == "http.response.start"), None)
        body = b"".join(m.get("body", b"") for m in held if m["type"] == "http.response.body")
        refused = []
        if start is not None and start["status"] == 200:
            try:
                paths = [Path(p) for p in json.loads(body)]
            except (ValueError, TypeError):
                paths = []
            refused = [p for p in paths if p.suffix.lower() not in self.accepted]
            if refused:
                for path in paths:  # the whole request is refused: none of its files stays
                    path.unlink(missing_ok=True)
        if refused:
            names = ", ".join(p.name for p in refused)
            kinds = " ".join(self.accepted)
            response = PlainTextResponse(f"{names}: this kind of file is not supported (use {kinds})", 415)
            return await response(scope, _no_body, send)
        for message in held:
            await send(message)


async def _too_large(limit: int, scope, receive, send) -> None:
    response = PlainTextResponse(f"The request is larger than the {limit / 1_000_000:g} MB this route takes.", 413)
    await response(scope, receive, send)


async def _no_body():
    return {"type": "http.request", "body": b"", "more_body": False}


def _logged_in(scope, gradio_app) -> bool:
    cookies = HTTPConnection(scope).cookies
    cookie_id = getattr(gradio_app, "cookie_id", "")
    tokens = getattr(gradio_app, "tokens", {})
    names = (f"access-token-{cookie_id}", f"access-token-unsecure-{cookie_id}")
    return any(cookies.get(name) in tokens for name in names if cookies.get(name))


def serve(settings, host: str, port: int, auth: tuple[str, str] | None, progress: bool = True) -> None:
    """Check, index, build and serve the chat until Ctrl+C (what `dsqa serve` runs)."""
    check_binding(host, auth)
    check_port_free(host, port)
    bot = Bot(settings=settings)
    bot.index(progress=progress)
    bot.warm_up()
    if settings.watch:
        bot.watch()  # added, changed and deleted files are answered from without a restart
    demo = build_app(bot)
    try:
        url = launch(demo, host, port, auth, settings.max_upload_mb, bot=bot)
    except OSError as error:  # taken between the check and now
        raise ServeError(f"cannot serve on {host}:{port}: {error} (try another --port)") from None
    where = "" if is_loopback(host) else f" (bound to {host}, login required)"
    print(f"deepspace-qa web chat: {url}{where}  (Ctrl+C to stop)", flush=True)
    print(f"OpenAI-compatible API: {url.rstrip('/')}/v1   MCP: {url.rstrip('/')}{MCP_PATH}", flush=True)
    demo.block_thread()


def program_routes(bot: Bot, host: str) -> dict:
    """FastAPI arguments that add the OpenAI-compatible routes and the MCP endpoint to the page's app.

    They go in as the app's first routes (FastAPI's `routes`, through Gradio's `app_kwargs`), so none of
    Gradio's routes can shadow them, and the MCP session manager runs in the app's lifespan."""
    mcp_app, lifespan = http_app(build_mcp_server(bot), host)
    routes = [*OpenAIRoutes(bot).router.routes, Route(MCP_PATH, endpoint=mcp_app, methods=["GET", "POST", "DELETE"])]
    return {"routes": routes, "lifespan": lifespan}


def launch(
    demo: gr.Blocks,
    host: str,
    port: int,
    auth: tuple[str, str] | None = None,
    max_file_mb: float = 20,
    bot: Bot | None = None,
) -> str:
    """Start serving `demo` on host:port in the background and return its URL (see `check_binding`).

    With `bot`, the same server also answers programs: `/v1/chat/completions`, `/v1/models` and `/mcp`."""
    check_binding(host, auth)
    programs = program_routes(bot, host) if bot is not None else {}
    api_key = bot.settings.api_key if bot is not None else str
    _, url, _ = demo.launch(
        server_name=host,
        server_port=port,
        auth=auth,
        share=False,
        quiet=True,
        prevent_thread_lock=True,
        footer_links=["api"],
        enable_monitoring=False,
        mcp_server=False,
        ssr_mode=False,
        pwa=False,
        run_history=False,
        max_file_size=int(max_file_mb * 1_000_000),
        app_kwargs={
            "middleware": [
                Middleware(LoginGate, api_key=api_key),  # outermost: nothing is read before the login is checked
                Middleware(
                    RequestLimits,
                    upload_limit=int(UPLOAD_FILES_PER_REQUEST * max_file_mb * 1_000_000),
                    accepted=accepted_suffixes(),
                ),
            ],
            **programs,
        },
        theme=theme(),
        css_paths=[ASSETS / "chat.css"],
        head=f"<script>{(ASSETS / 'chat.js').read_text(encoding='utf-8')}</script>",
    )
    return url
