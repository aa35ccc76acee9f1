"""What every request passes before the routes: host names, the length of the target, cross-origin
writes; and the security headers every answer gets.

* **Host names**: only the names the app was told to answer to (loopback names by default), so that
  a page of another site cannot reach it through DNS rebinding (its requests carry that site's name
  in ``Host``).  ``*`` allows any name (when the app is mounted behind a server that checks them);
  ``.example.org`` (or ``*.example.org``) allows the subdomains of a name.
* **Cross-origin writes**: a request other than GET and HEAD that a browser sent from another
  origin (``Origin`` naming another host, ``Sec-Fetch-Site`` other than ``same-origin``) is refused,
  whatever it carries: forms and ``fetch`` of other sites cannot write, even with the token.
  Programs (curl, the client) send neither header.
* **Headers**: a Content-Security-Policy that allows the app's own scripts and styles only (a route
  may set a stricter one), ``nosniff``, no referrer, no framing, ``no-store`` for anything but
  the static files.
"""

from __future__ import annotations

from typing import Awaitable, Callable, Iterable, List, Optional, Tuple

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: The host names a new app answers to.
LOOPBACK = ("localhost", "127.0.0.1", "::1")
#: The longest request target (path and query) answered; longer ones get 414.
MAX_TARGET = 4096

POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
          "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
_HEADERS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"))
_SAFE_METHODS = frozenset(("GET", "HEAD"))

#: ``refuse(scope, status, message)``: the answer to a refused request.
Refuse = Callable[[Scope, int, str], Callable[[Scope, Receive, Send], Awaitable[None]]]


class Guard:
    """ASGI middleware: checks host, target and origin, then adds the security headers to the answer."""

    def __init__(self, app: ASGIApp, *, allowed_hosts: Iterable[str] = LOOPBACK,
                 trusted_origins: Iterable[str] = (), refuse: Refuse) -> None:
        self.app = app
        self.allowed_hosts = [name.lower().rstrip(".") for name in allowed_hosts]
        self.any_host = "*" in self.allowed_hosts
        self.trusted_origins = {origin.lower().rstrip("/") for origin in trusted_origins}
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = self.check(scope)
        static = "/static/" in scope.get("path", "")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(header for header in _HEADERS if header[0] not in present)
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", POLICY.encode()))
                if b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-cache" if static else b"no-store"))
                message = dict(message, headers=headers)
            await send(message)

        if problem is not None:
            await self.refuse(scope, *problem)(scope, receive, with_headers)
        else:
            await self.app(scope, receive, with_headers)

    def check(self, scope: Scope) -> Optional[Tuple[int, str]]:
        """(status, reason) when the request is refused, else None."""
        headers = _headers(scope)
        if len(scope.get("raw_path") or scope.get("path", "").encode()) + len(scope.get("query_string", b"")) \
                > MAX_TARGET:
            return 414, "the request target is longer than %d characters" % MAX_TARGET
        host = _host_name(headers.get("host"))
        if host is None:
            return 400, "the request has no usable Host header"
        if not self.any_host and not self.allows(host):
            return 400, ("this server answers to the host names %s, not %s: start it with --allow-host %s "
                         "if that is its name" % (", ".join(self.allowed_hosts), host[:100], host[:100]))
        if scope.get("method") not in _SAFE_METHODS and not self.same_origin(headers):
            return 403, "cross-origin writes are refused: this call must come from a program, not from a web page"
        return None

    def allows(self, host: str) -> bool:
        """Whether ``host`` (lower case, without port) is one of the allowed names."""
        for pattern in self.allowed_hosts:
            if host == pattern:
                return True
            if pattern.startswith(("*.", ".")) and host.endswith(pattern.lstrip("*")):
                return True
        return False

    def same_origin(self, headers: dict) -> bool:
        """Whether a write may go on: not sent by a browser from another origin."""
        site = headers.get("sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            return False
        origin = headers.get("origin")
        if origin is None:
            return True
        origin = origin.lower().rstrip("/")
        if origin in self.trusted_origins:
            return True
        _, _, authority = origin.partition("://")
        return bool(authority) and authority == (headers.get("host") or "").lower()


def _headers(scope: Scope) -> dict:
    """The request headers that matter here, as text (the last of repeated ones)."""
    found = {}
    for name, value in scope.get("headers", ()):
        if name in (b"host", b"origin", b"sec-fetch-site"):
            found[name.decode("latin-1")] = value.decode("latin-1")
    return found


def _host_name(value: Optional[str]) -> Optional[str]:
    """The name in a Host header, lower case, without port or brackets; None when unusable."""
    if not value or len(value) > 255 or any(char in value for char in " /\\@?#"):
        return None
    value = value.lower()
    if value.startswith("["):
        name, bracket, rest = value[1:].partition("]")
        return name if bracket and (rest == "" or rest[1:].isdigit() and rest[0] == ":") else None
    name, colon, port = value.partition(":")
    if colon and not port.isdigit():
        return None
    return name.rstrip(".") or None


def allowed_names(host: str, extra: Iterable[str] = ()) -> List[str]:
    """The host names to answer to when listening on ``host``: the loopback names, a specific
    address listened on, and ``extra``."""
    names = list(LOOPBACK)
    if host not in ("", "0.0.0.0", "::") and host.lower() not in names:
        names.append(host.lower())
    names.extend(name for name in extra if name.lower() not in names)
    return names
