"""HTTP basic authentication or a bearer token, asked of every request but `/ping`.

Credentials are compared in constant time; a request without them gets a 401 that asks
for basic credentials, so a browser shows its login box, and is counted."""

from __future__ import annotations

import base64
import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from cyanite_py.api.errors import message
from cyanite_py.counters import Registry

OPEN_PATHS = frozenset({"/ping"})
"""Health checks need no credentials and learn nothing."""


class RequireCredentials:
    """ASGI middleware admitting requests that carry one of the accepted credentials."""

    def __init__(
        self,
        app: ASGIApp,
        registry: Registry,
        username: str | None,
        password: str | None,
        token: str | None,
    ) -> None:
        self.app = app
        self._accepted: list[bytes] = []
        if username is not None and password is not None:
            pair = base64.b64encode(f"{username}:{password}".encode()).decode()
            self._accepted.append(f"Basic {pair}".encode())
        if token is not None:
            self._accepted.append(f"Bearer {token}".encode())
        self._refused = registry.counter(
            "api_requests_unauthorized", "HTTP requests refused for want of credentials"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS or self._admits(scope):
            await self.app(scope, receive, send)
            return
        self._refused.inc()
        response = message(401, "credentials required")
        response.headers["WWW-Authenticate"] = 'Basic realm="cyanite-py"'
        await response(scope, receive, send)

    def _admits(self, scope: Scope) -> bool:
        given = dict(scope.get("headers", ())).get(b"authorization", b"")
        # Every accepted value is compared, so the time taken says nothing of which matched.
        matches = [hmac.compare_digest(given, accepted) for accepted in self._accepted]
        return any(matches)
