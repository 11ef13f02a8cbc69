"""cyanite-py: a Graphite-compatible metrics aggregation server."""

__version__ = "0.1.0"
