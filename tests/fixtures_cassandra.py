"""Fixtures that reach a real Cassandra."""
