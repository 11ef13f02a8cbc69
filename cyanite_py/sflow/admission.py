"""Which agents and data sources may make series, so spoofed datagrams cannot grow the
series count without bound.

sFlow is UDP: any host can send datagrams that claim any agent address and any number
of interfaces, and each new `(agent, source)` pair makes a few dozen series. The first
`max_agents` agents and the first `max_sources` sources over all of them are admitted
and kept; samples from others are refused and counted.
"""

from __future__ import annotations

TOO_MANY_AGENTS = "too_many_agents"
TOO_MANY_SOURCES = "too_many_sources"


class SourceAdmission:
    """Remembers admitted agents and their sources, up to the two bounds."""

    def __init__(self, max_agents: int, max_sources: int) -> None:
        self.max_agents = max_agents
        self.max_sources = max_sources
        self.sources = 0
        self._agents: dict[str, set[str]] = {}

    @property
    def agents(self) -> int:
        return len(self._agents)

    def refusal(self, agent: str, source: str) -> str | None:
        """None when `source` of `agent` may make series, else the reason it may not."""
        known = self._agents.get(agent)
        if known is None:
            if len(self._agents) >= self.max_agents:
                return TOO_MANY_AGENTS
            if self.sources >= self.max_sources:
                return TOO_MANY_SOURCES
            known = self._agents[agent] = set()
        if source not in known:
            if self.sources >= self.max_sources:
                return TOO_MANY_SOURCES
            known.add(source)
            self.sources += 1
        return None
