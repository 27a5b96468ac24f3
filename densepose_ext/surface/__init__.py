"""The DensePose body surface: 24 parts with charts, (I, U, V) <-> surface lookup, mirror map, geodesics.

Importing this package reads no files; ``get_surface()`` loads the committed asset on first use.
"""
from .body_surface import BodySurface, get_surface

__all__ = ["BodySurface", "get_surface"]
