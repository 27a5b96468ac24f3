import pytest
import torch

from .helpers import FakeSurface


@pytest.fixture(autouse=True)
def _one_thread():
    # Two shared cores: keep each test on one thread (restored afterwards).
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def fake_surface():
    """A surface whose mirror map is known in closed form (FakeSurface), for the flip."""
    return FakeSurface()
