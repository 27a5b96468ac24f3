"""Looking a configured name up in a detectron2 Registry, with the config key in the error."""
from __future__ import annotations

from typing import Any

from detectron2.utils.registry import Registry


def registered(registry: Registry, key: str, name: str) -> Any:
    """The object registered as `name`; ValueError naming the config `key`, the registered names and `name`
    when there is none (detectron2's KeyError names neither the key nor the choices)."""
    names = sorted(n for n, _ in registry)
    if name not in names:
        raise ValueError(f"Invalid DensePose config: {key} must be one of {names}, got {name!r}")
    return registry.get(name)
