"""Rules, open windows, flushing and checkpoints: everything that depends on time."""

from cyanite_py.engine.engine import Engine
from cyanite_py.engine.rules import DriftConfig, EngineConfig

__all__ = ["DriftConfig", "Engine", "EngineConfig"]
