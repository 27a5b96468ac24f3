"""Random scenes: 1-6 posed people on a ground plane, a perspective camera, light and image degradations.

Everything is drawn from one ``numpy.random.Generator``, so a scene is a pure function of its seed.
Frames: world metres, Z up, people stand on Z = 0; the camera is built with
:func:`densepose_ext.synth.camera.look_at`. A person's world placement is ``x_world = R x_body + t``
(R a rotation about Z by the person's yaw, t puts the lowest vertex on the ground).
"""
from __future__ import annotations

import dataclasses

import numpy as np
from scipy.spatial.transform import Rotation

from densepose_ext.synth.body_model import BodyModel
from densepose_ext.synth.camera import Camera, look_at
from densepose_ext.synth.poses import POSE_FAMILIES, pose_rotations, sample_pose
from densepose_ext.synth.shading import Appearance, sample_appearance

_PEOPLE_WEIGHTS = np.array([0.22, 0.24, 0.2, 0.14, 0.11, 0.09])  # P(1..6 people)
_NOMINAL_HEIGHT_M = 1.7   # converts a wanted pixel height into a camera distance
_MIN_DISTANCE_M = 1.0     # keeps every body well in front of the camera
_MIN_SEPARATION_M = 0.55  # ground distance between two people, so bodies do not interpenetrate
_PLACEMENT_TRIES = 20


@dataclasses.dataclass(frozen=True)
class Person:
    """One posed person. shape (K,) coeffs, pose (bone -> rotvec), world_rotvec (3,), world_translation (3,)
    define the body exactly (see :meth:`to_json`); vertices (V,3) and keypoints (17,3) are the posed result
    in world metres."""

    shape: np.ndarray
    pose: dict[str, list[float]]
    family: str
    world_rotvec: np.ndarray
    world_translation: np.ndarray
    appearance: Appearance
    vertices: np.ndarray
    keypoints: np.ndarray

    def to_json(self) -> dict:
        """What re-posing needs: ``pose_person(model, **d)`` reproduces ``vertices``/``keypoints``."""
        return {"shape": self.shape.tolist(), "pose": self.pose, "family": self.family,
                "world_rotvec": self.world_rotvec.tolist(),
                "world_translation": self.world_translation.tolist()}


def pose_person(model: BodyModel, shape, pose: dict[str, list[float]], world_rotvec,
                world_translation, **_ignored) -> tuple[np.ndarray, np.ndarray]:
    """Posed vertices (V,3) and COCO keypoints (17,3), world metres, from a :meth:`Person.to_json` dict
    (or a meta/<stem>.json person entry; keys other than the body parameters are ignored)."""
    return model.pose(np.asarray(shape), pose_rotations(model, pose),
                      Rotation.from_rotvec(world_rotvec).as_matrix(), np.asarray(world_translation))


@dataclasses.dataclass(frozen=True)
class Scene:
    """camera, people (sampling order = annotation order), light (3,) unit world direction towards the light,
    ambient in [0,1], blur_sigma px, noise_sigma (of [0,1] intensities), jpeg_quality."""

    camera: Camera
    people: list[Person]
    light: np.ndarray
    ambient: float
    blur_sigma: float
    noise_sigma: float
    jpeg_quality: int


def _sample_person(model: BodyModel, rng: np.random.Generator, ground_xy: np.ndarray) -> Person:
    shape = np.clip(rng.normal(size=model.num_shape_coeffs), -2.5, 2.5)
    family = POSE_FAMILIES[rng.integers(len(POSE_FAMILIES))]
    pose = sample_pose(model, rng, family)
    rotvec = np.array([0.0, 0.0, rng.uniform(0.0, 2 * np.pi)])
    # posing at the origin first finds the height of the lowest vertex; adding the translation afterwards
    # gives bit-identical vertices to posing with the full translation (x + 0 == x).
    verts, kps = pose_person(model, shape, pose, rotvec, np.zeros(3))
    translation = np.array([ground_xy[0], ground_xy[1], -verts[:, 2].min()])
    return Person(shape=shape, pose=pose, family=family, world_rotvec=rotvec,
                  world_translation=translation, appearance=sample_appearance(rng),
                  vertices=verts + translation, keypoints=kps + translation)


def sample_scene(model: BodyModel, rng: np.random.Generator, size: tuple[int, int]) -> Scene:
    """A random scene for an image of size (H,W).

    Scale: a base person height is drawn log-uniformly from ~COCO "medium" (12 % of the image height)
    to frame-filling (130 %, truncated); each person varies around it. Horizontal positions spread past
    the image borders (truncation) and overlap (occlusion). The camera (0.6-2.4 m high, 40-75 degree
    horizontal field of view, small roll) looks at the group.
    """
    height, width = size
    focal = (width / 2) / np.tan(np.deg2rad(rng.uniform(40, 75)) / 2)
    cam_height = rng.uniform(0.6, 2.4)
    base_px = height * np.exp(rng.uniform(np.log(0.12), np.log(1.3)))
    count = 1 + rng.choice(len(_PEOPLE_WEIGHTS), p=_PEOPLE_WEIGHTS)
    # camera-aligned ground coordinates: camera above the origin looking along +Y
    placed: list[np.ndarray] = []
    for i in range(count):
        for _ in range(_PLACEMENT_TRIES):
            px_height = base_px * np.exp(rng.normal(0.0, 0.25))
            dist = max(focal * _NOMINAL_HEIGHT_M / px_height, _MIN_DISTANCE_M)
            # the first person stands well inside the frame, so no image is left without anyone
            u = rng.uniform(0.2, 0.8) * width if i == 0 else rng.uniform(-0.1, 1.1) * width
            xy = np.array([(u - width / 2) * dist / focal, dist])
            if all(np.linalg.norm(xy - p) >= _MIN_SEPARATION_M for p in placed):
                placed.append(xy)
                break
    people = [_sample_person(model, rng, xy) for xy in placed]
    look_dist = float(np.median([xy[1] for xy in placed]))
    target = [rng.normal(0.0, 0.1) * look_dist, look_dist, rng.uniform(0.5, 1.2)]
    camera = look_at([0.0, 0.0, cam_height], target, focal, size, roll=np.deg2rad(rng.normal(0.0, 4.0)))
    # a body reaching behind the camera cannot be rasterised cleanly: leave it out of the scene
    people = [p for p in people if camera.to_camera(p.vertices)[:, 2].min() > 0.1]
    light = np.array([rng.normal(), rng.normal(), rng.uniform(0.3, 1.5)])
    return Scene(camera=camera, people=people, light=light / np.linalg.norm(light),
                 ambient=float(rng.uniform(0.25, 0.6)), blur_sigma=float(rng.uniform(0.0, 1.2)),
                 noise_sigma=float(rng.uniform(0.0, 0.04)), jpeg_quality=int(rng.integers(70, 96)))
