"""Pinhole camera: world metres -> image px.

Frames: world = metres, Z up (bodies stand on Z = 0). Camera = OpenCV convention: x right, y down,
z forward (depth). image px = x right, y down, pixel centres at +0.5 (so the principal point of a
W x H image centred on the optical axis is (W/2, H/2)).
"""
from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Camera:
    """x_cam = rotation @ x_world + translation; pixel = (fx * x/z + cx, fy * y/z + cy) in image px.

    rotation (3,3), translation (3,), focal (fx, fy) and principal (cx, cy) in px, size (height, width).
    """

    rotation: np.ndarray
    translation: np.ndarray
    focal: tuple[float, float]
    principal: tuple[float, float]
    size: tuple[int, int]

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """(N,3) world metres -> (N,3) camera metres."""
        return points @ self.rotation.T + self.translation

    def project(self, points: np.ndarray) -> np.ndarray:
        """(N,3) world metres -> (N,3): image px x, image px y, camera depth z (metres)."""
        cam = self.to_camera(np.asarray(points, dtype=np.float64))
        z = cam[:, 2]
        safe = np.where(np.abs(z) > 1e-12, z, 1e-12)
        return np.stack([self.focal[0] * cam[:, 0] / safe + self.principal[0],
                         self.focal[1] * cam[:, 1] / safe + self.principal[1], z], axis=1)

    def to_json(self) -> dict:
        """JSON-safe dict (floats round-trip exactly), inverse of :meth:`from_json`."""
        return {"rotation": self.rotation.tolist(), "translation": self.translation.tolist(),
                "focal": list(self.focal), "principal": list(self.principal), "size": list(self.size)}

    @classmethod
    def from_json(cls, d: dict) -> "Camera":
        return cls(rotation=np.asarray(d["rotation"], dtype=np.float64),
                   translation=np.asarray(d["translation"], dtype=np.float64),
                   focal=tuple(d["focal"]), principal=tuple(d["principal"]), size=tuple(d["size"]))


def look_at(eye: np.ndarray, target: np.ndarray, focal: float, size: tuple[int, int],
            roll: float = 0.0) -> Camera:
    """Camera at world point `eye` looking at `target`, world Z up on screen, `roll` radians about the
    view axis; square pixels of focal length `focal` px, principal point at the image centre."""
    eye, target = np.asarray(eye, dtype=np.float64), np.asarray(target, dtype=np.float64)
    forward = target - eye
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    c, s = np.cos(roll), np.sin(roll)
    right, down = c * right + s * down, -s * right + c * down
    rotation = np.stack([right, down, forward])
    height, width = size
    return Camera(rotation=rotation, translation=-rotation @ eye, focal=(float(focal), float(focal)),
                  principal=(width / 2.0, height / 2.0), size=(int(height), int(width)))
