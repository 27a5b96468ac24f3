"""The repository's command-line scripts (train_net.py, apply_net.py, tools/*.py) as modules, for tests that call
their functions in-process."""
import importlib.util
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent


def load_script(relative_path: str, module_name: str) -> ModuleType:
    """Execute REPO/`relative_path` as a fresh module named `module_name` (its `__main__` block does not run)."""
    spec = importlib.util.spec_from_file_location(module_name, REPO / relative_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
