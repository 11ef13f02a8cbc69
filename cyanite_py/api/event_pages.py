"""The plain pages `/events/` and `/events/<id>/` show to a browser, as graphite-web has
them: a table of events, and one event's fields. Every value is escaped."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape

from cyanite_py.store.events import Event

_PAGE = """<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>{title}</title>
<style>body {{ font-family: sans-serif; margin: 2em; }} td, th {{ padding: 0.2em 1em;
text-align: left; }}</style></head>
<body><h1>{title}</h1>
{body}
</body>
</html>
"""


def listing(events: Sequence[Event]) -> str:
    """A table of `events`: when, what (linking to the event), tags."""
    if not events:
        body = (
            "<p>No events. Post one as JSON, e.g. <code>curl -X POST host:8080/events/ -d "
            "'{&quot;what&quot;: &quot;deploy&quot;, &quot;tags&quot;: [&quot;web&quot;]}'"
            "</code></p>"
        )
        return _PAGE.format(title="Events", body=body)
    rows = "\n".join(
        f'<tr><td>{_time(event.when)}</td><td><a href="/events/{event.id}/">'
        f"{escape(event.what)}</a></td><td>{escape(' '.join(event.tags))}</td></tr>"
        for event in events
    )
    table = f"<table>\n<tr><th>when</th><th>what</th><th>tags</th></tr>\n{rows}\n</table>"
    return _PAGE.format(title="Events", body=table)


def detail(event: Event) -> str:
    """One event's time, tags and data."""
    rows = (
        f"<tr><td>when</td><td>{_time(event.when)}</td></tr>\n"
        f"<tr><td>tags</td><td>{escape(' '.join(event.tags))}</td></tr>\n"
        f"<tr><td>data</td><td>{escape(event.data)}</td></tr>"
    )
    return _PAGE.format(title=escape(event.what), body=f"<table>\n{rows}\n</table>")


def _time(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%H:%M:%S %a %d %b %Y UTC")
