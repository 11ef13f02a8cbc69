"""Bringing history in from Graphite: whisper files into the store, and carbon's
storage-schemas.conf into `engine.rules`."""
