"""`api:` settings, importable without the HTTP stack, so validating a file loads none."""

from __future__ import annotations

from pydantic import PositiveInt

from cyanite_py.settings import Duration, settings


@settings
class ApiConfig:
    """Where the API listens, who may ask it, and the bounds every request is held to.

    It listens on every address by default, as Grafana usually runs on another machine; set
    `host: 127.0.0.1` where it does not. `username` and `password` turn on HTTP basic
    authentication (Grafana's Graphite data source sends it), `token` a bearer token; either
    is then asked of every request but `/ping`. `certfile` and `keyfile` serve HTTPS."""

    host: str = "0.0.0.0"
    port: int = 8080
    max_body_size: int = 1024 * 1024
    max_points: PositiveInt = 10_000_000
    """Cells (one value of one series at one step) a request may lay out in all."""
    max_glob_alternatives: PositiveInt = 10_000
    """Names the `{a,b}` braces of one glob may spell out."""
    max_tag_series: PositiveInt = 100_000
    """Tagged series one seriesByTag or /tags/findSeries may match; more is refused."""
    max_tag_results: PositiveInt = 10_000
    """Tags or values one /tags answer lists at most; a larger `limit` is cut to it."""
    max_future: Duration = 600
    """How far past now a read reaches; later windows cannot hold points (drift.max_future)."""
    timeout: Duration = 30
    """Seconds a request may evaluate before it is abandoned with a 503."""
    max_concurrent: PositiveInt = 2
    """Requests evaluated at once in worker threads; more wait their turn (within timeout)."""
    max_events: PositiveInt = 5_000
    """Events one answer of `/events` may hold; a query matching more is refused."""
    max_event_size: PositiveInt = 16_384
    """Bytes of one posted event's JSON, so an answer holds at most
    `max_events * max_event_size` bytes of events."""
    jsonp: bool = False
    """Whether /render wraps json in `jsonp=callback(...)`, which any web page can read."""
    username: str | None = None
    password: str | None = None
    token: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    access_log: bool = False
    """Log one line per request (`cyanite_py.access`, at info), as web servers do."""

    def __post_init__(self) -> None:
        if self.timeout <= 0:
            raise ValueError("timeout must be positive")
        if self.max_future < 0:
            raise ValueError("max_future must not be negative")
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        if (self.certfile is None) != (self.keyfile is None):
            raise ValueError("certfile and keyfile go together")
