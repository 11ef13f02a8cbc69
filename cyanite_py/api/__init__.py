"""The HTTP APIs: Cyanite's own and graphite-web's, served by one starlette app."""
