import pytest
import torch

from densepose_ext.data import transforms

from .helpers import FakeSurface


@pytest.fixture(autouse=True)
def _one_thread():
    # Two shared cores: keep each test on one thread (restored afterwards).
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def fake_surface(monkeypatch):
    """Replaces get_surface() (used by the flip) with FakeSurface, whose mirror map is known in closed form."""
    surface = FakeSurface()
    monkeypatch.setattr(transforms, "get_surface", lambda *args, **kwargs: surface)
    return surface
