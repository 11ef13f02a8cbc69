"""Stores keep snapshots (closed windows) and the paths they belong to."""
