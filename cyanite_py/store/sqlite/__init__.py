"""The embedded default store: one SQLite file in WAL mode, nothing else to install.

`store` runs it; `schema` lays out the file and opens its connections; `writes` appends
each write to `recent`, compacts `recent` into `block` and expires old blocks; `reads`
gathers a read from both tables; `groups` packs a write's windows into `recent`'s rows.
Only the configuration is imported here, so validating a file loads no SQLite code.
"""

from cyanite_py.store.sqlite.config import SqliteStoreConfig

__all__ = ["SqliteStoreConfig"]
