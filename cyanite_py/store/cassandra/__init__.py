"""The store in Apache Cassandra, for more than one machine's disk.

`store` runs it; `layout` lays windows into block rows and reads them back (no driver
import); `encode` packs row values for the protocol; `fold` merges a block's parts into
one row; `connection` connects and prepares statements; `calls` bridges the driver's
callbacks into trio; `config` holds its settings. Only the configuration is imported here,
so validating a file loads no driver.
"""

from cyanite_py.store.cassandra.config import CassandraStoreConfig

__all__ = ["CassandraStoreConfig"]
