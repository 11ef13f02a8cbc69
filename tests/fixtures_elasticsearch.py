"""Fixtures that reach a real Elasticsearch."""
