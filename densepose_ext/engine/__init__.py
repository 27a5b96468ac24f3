"""Training glue: CPU-capable launching (detectron2 0.6 lacks it) and the SOLVER.OPTIMIZER choice."""
from .launch import launch
from .optimizer import build_optimizer

__all__ = ["build_optimizer", "launch"]
