"""Training/launch glue that detectron2 0.6 lacks for CPU-only machines."""
from .launch import launch

__all__ = ["launch"]
