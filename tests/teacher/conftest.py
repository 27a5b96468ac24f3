# Two shared cores: every teacher test runs on one torch thread, with the data tests' autouse fixture.
from tests.data.conftest import _one_thread  # noqa: F401
