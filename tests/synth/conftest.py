"""Shared fixtures: one small synthetic dataset rendered once per test session."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

SEED = 7
NUM_IMAGES = 6
SIZE = (240, 320)  # (height, width)


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory) -> Path:
    from densepose_ext.synth.generate import generate

    out = tmp_path_factory.mktemp("synth")
    generate(out, NUM_IMAGES, seed=SEED, size=SIZE, workers=1, progress=False)
    return out


@pytest.fixture(scope="session")
def synth_coco(synth_dir) -> dict:
    return json.loads((synth_dir / "annotations.json").read_text())
