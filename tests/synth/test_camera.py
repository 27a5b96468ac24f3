import json

import numpy as np

from densepose_ext.synth.camera import Camera, look_at


def test_look_at_centres_target_and_keeps_up_up():
    cam = look_at([1.0, -5.0, 1.5], [0.0, 0.0, 1.0], focal=500.0, size=(480, 640))
    p = cam.project(np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 2.0]]))
    np.testing.assert_allclose(p[0, :2], [320.0, 240.0], atol=1e-9)
    assert p[1, 1] < p[0, 1]  # a point above the target is higher in the image (smaller y)
    np.testing.assert_allclose(p[0, 2], np.linalg.norm([1.0, -5.0, 0.5]))
    np.testing.assert_allclose(cam.rotation @ cam.rotation.T, np.eye(3), atol=1e-12)


def test_known_projection_and_json_roundtrip():
    cam = Camera(rotation=np.eye(3), translation=np.zeros(3), focal=(100.0, 200.0), principal=(10.0, 20.0),
                 size=(40, 30))
    np.testing.assert_allclose(cam.project(np.array([[1.0, -1.0, 2.0]])), [[60.0, -80.0, 2.0]])
    back = Camera.from_json(json.loads(json.dumps(cam.to_json())))
    pts = np.random.default_rng(0).normal(size=(5, 3)) + [0, 0, 5]
    np.testing.assert_array_equal(back.project(pts), cam.project(pts))
