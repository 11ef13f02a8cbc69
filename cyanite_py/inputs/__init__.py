"""Inputs turn bytes from the network into batches of points; they know nothing of windows."""
