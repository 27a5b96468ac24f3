"""Random plausible poses: constrained joint angles per pose family, as per-bone rotations of the body model.

Frames: body frame of :mod:`densepose_ext.synth.body_model` (X = person's left, Y = backwards, Z = up).
A pose is a mapping bone name -> rotation vector (radians, body-frame axes, about the bone's rest head);
bones not named keep their rest orientation. Limb directions are written as targets ("upper arm points
forward and up"), converted to rotations from the rest (A-pose) directions of the mean body.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from densepose_ext.synth.body_model import BodyModel

POSE_FAMILIES: tuple[str, ...] = (
    "standing", "walking", "sitting", "arms_raised", "arms_crossed", "bending", "random",
)
_SIDES = {"L": 1.0, "R": -1.0}  # sign of the body-frame X axis on the person's left / right
_FORWARD = np.array([0.0, -1.0, 0.0])
_BACKWARD = -_FORWARD
_SPINE = ("spine05", "spine04", "spine03", "spine02", "spine01")


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _rest_dir(model: BodyModel, bone: str, child: str) -> np.ndarray:
    idx = model.bone_index
    return _unit(model.mean_heads[idx[child]] - model.mean_heads[idx[bone]])


def _align(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Rotation vector of the smallest rotation taking unit vector src to unit vector dst."""
    axis = np.cross(src, dst)
    s, c = np.linalg.norm(axis), float(np.dot(src, dst))
    if s < 1e-9:
        return np.zeros(3)
    return axis / s * np.arctan2(s, c)


def _bend(direction: np.ndarray, towards: np.ndarray, angle: float) -> np.ndarray:
    """Rotation vector turning `direction` by `angle` radians towards `towards` (a hinge)."""
    return _unit(np.cross(direction, towards)) * angle


def _then(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Rotation vector of applying rotation vector `first`, then `second`."""
    return (Rotation.from_rotvec(second) * Rotation.from_rotvec(first)).as_rotvec()


def _limb_target(side: float, elevation: float, azimuth: float) -> np.ndarray:
    """Unit direction, body frame: elevation 0 = straight down, pi/2 = horizontal, pi = up; azimuth 0 =
    outwards to the limb's side, pi/2 = forwards, negative = backwards."""
    return np.array([side * np.sin(elevation) * np.cos(azimuth),
                     -np.sin(elevation) * np.sin(azimuth),
                     -np.cos(elevation)])


def _family_angles(family: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Joint angles (radians) of one family, per side where sided: arrays indexed [L, R]. Elbow and knee:
    flexion (0 = straight); arm_twist > 0 rotates the upper arm inwards."""
    u = rng.uniform
    deg = np.deg2rad
    a = {  # defaults: relaxed standing
        "arm_el": deg(u(5, 25, 2)), "arm_az": deg(u(-20, 40, 2)), "arm_twist": deg(u(-20, 20, 2)),
        "elbow": deg(u(0, 30, 2)), "hip_flex": deg(u(-5, 10, 2)), "hip_abd": deg(u(-3, 10, 2)),
        "knee": deg(u(0, 15, 2)), "spine_fwd": deg(u(-5, 10)), "spine_side": deg(u(-6, 6)),
        "spine_twist": deg(u(-15, 15)), "neck_yaw": deg(u(-35, 35)), "neck_pitch": deg(u(-15, 20)),
    }
    if family == "walking":
        swing = deg(u(15, 35))
        lead = rng.integers(2)
        flex = np.where(np.arange(2) == lead, swing, -0.6 * swing)
        a.update(hip_flex=flex, knee=np.where(flex < 0, deg(u(15, 45)), deg(u(0, 15))),
                 arm_el=deg(u(10, 30, 2)), arm_az=np.where(flex > 0, deg(-80), deg(80)),
                 elbow=deg(u(10, 45, 2)))
    elif family == "sitting":
        a.update(hip_flex=deg(u(70, 100, 2)), knee=deg(u(70, 105, 2)), hip_abd=deg(u(0, 20, 2)),
                 spine_fwd=deg(u(-10, 20)), elbow=deg(u(20, 80, 2)), arm_az=deg(u(40, 90, 2)))
    elif family == "arms_raised":
        both = rng.random() < 0.6
        el = deg(u(110, 175, 2))
        if not both:
            el[rng.integers(2)] = deg(u(5, 30))
        a.update(arm_el=el, arm_az=deg(u(-20, 90, 2)), elbow=deg(u(0, 50, 2)))
    elif family == "arms_crossed":
        a.update(arm_el=deg(u(20, 40, 2)), arm_az=deg(u(60, 90, 2)), arm_twist=deg(u(50, 80, 2)),
                 elbow=deg(u(95, 130, 2)))
    elif family == "bending":
        a.update(spine_fwd=deg(u(30, 85)), knee=deg(u(0, 40, 2)), arm_el=deg(u(20, 80, 2)),
                 arm_az=deg(u(60, 100, 2)), neck_pitch=deg(u(-30, 0)))
    elif family == "random":
        a.update(arm_el=deg(u(0, 170, 2)), arm_az=deg(u(-40, 110, 2)), arm_twist=deg(u(-60, 60, 2)),
                 elbow=deg(u(0, 140, 2)), hip_flex=deg(u(-20, 90, 2)), hip_abd=deg(u(-5, 35, 2)),
                 knee=deg(u(0, 120, 2)), spine_fwd=deg(u(-15, 45)), spine_side=deg(u(-20, 20)),
                 spine_twist=deg(u(-35, 35)))
    elif family != "standing":
        raise ValueError(f"pose family: expected one of {POSE_FAMILIES}, got {family!r}")
    return a


def sample_pose(model: BodyModel, rng: np.random.Generator, family: str) -> dict[str, list[float]]:
    """A random pose of `family` (one of POSE_FAMILIES): bone name -> rotation vector."""
    a = _family_angles(family, rng)
    pose: dict[str, np.ndarray] = {}
    for k, (name, side) in enumerate(_SIDES.items()):
        arm = _rest_dir(model, f"upperarm01.{name}", f"lowerarm01.{name}")
        target = _limb_target(side, a["arm_el"][k], a["arm_az"][k])
        pose[f"upperarm01.{name}"] = _then(arm * side * a["arm_twist"][k], _align(arm, target))
        # the rest (A-) pose already bends the elbow; the family gives the total flexion in the arm's plane
        forearm = _rest_dir(model, f"lowerarm01.{name}", f"wrist.{name}")
        rest_flexion = np.arccos(np.clip(np.dot(arm, forearm), -1.0, 1.0))
        pose[f"lowerarm01.{name}"] = _unit(np.cross(arm, forearm)) * (a["elbow"][k] - rest_flexion)
        thigh = _rest_dir(model, f"upperleg01.{name}", f"lowerleg01.{name}")
        elev = a["hip_flex"][k]
        leg_target = _unit(np.array([side * np.sin(a["hip_abd"][k]), -np.sin(elev), -np.cos(elev)]))
        pose[f"upperleg01.{name}"] = _align(thigh, leg_target)
        shin = _rest_dir(model, f"lowerleg01.{name}", f"foot.{name}")
        pose[f"lowerleg01.{name}"] = _bend(shin, _BACKWARD, a["knee"][k])
    # the spine bends about body axes, spread evenly over its bones
    spine = Rotation.from_euler("xyz", [a["spine_fwd"], a["spine_side"], a["spine_twist"]]).as_rotvec()
    for bone in _SPINE:
        pose[bone] = spine / len(_SPINE)
    pose["neck01"] = Rotation.from_euler("zx", [a["neck_yaw"], a["neck_pitch"]]).as_rotvec()
    return {bone: [float(x) for x in rv] for bone, rv in pose.items()}


def pose_rotations(model: BodyModel, pose: dict[str, list[float]]) -> np.ndarray:
    """(J,3,3) rotation matrices of a pose mapping (identity for unnamed bones). Unknown names raise."""
    rotvecs = np.zeros((len(model.bone_names), 3))
    for bone, rv in pose.items():
        if bone not in model.bone_index:
            raise KeyError(f"pose: unknown bone {bone!r}; expected one of the body model's bone names")
        rotvecs[model.bone_index[bone]] = rv
    return Rotation.from_rotvec(rotvecs).as_matrix()
