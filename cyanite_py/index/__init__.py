"""Indexes keep the set of paths and answer Graphite globs over it."""
