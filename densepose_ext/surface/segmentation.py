"""Cut a closed, left-right symmetric body mesh into the 24 DensePose fine parts.

Frame: surface (rest pose, metres, sagittal plane x = 0, +x = the person's LEFT, -y = front, +z = up;
the anny convention). Steps, all vectorised over faces:

1. Region per face from skinning weights summed per region (torso, head+neck, each arm, each leg);
   torso | leg is cut instead by the plane through the hip joint perpendicular to the thigh.
2. Limbs are cut by planes through the joints, perpendicular to the limb: arm -> upper arm | lower arm |
   hand at elbow and wrist; leg -> upper leg | lower leg | foot at knee and ankle.
3. Front/back halves: limbs by the plane through the bone that contains the limb's side direction;
   torso by the mid-depth (y) of its cross-section at each height. Head halves by the sagittal plane.
4. Clean-up: boundary smoothing (a face takes the label of >= 2 of its 3 neighbours) and one connected
   component per part (stray pieces join the neighbouring part they share most edges with).
5. Exact symmetry: labels of the right side are the mirror (FINE_PART_MIRROR) of the left side's.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .mesh_topology import edge_neighbours, face_components
from .parts import FINE_PART_MIRROR, FINE_PART_NAMES, NUM_FINE_PARTS

# Region channels of the per-vertex region weights.
REGIONS = ("torso", "head", "arm_right", "arm_left", "leg_right", "leg_left")
SMOOTHING_ITERATIONS = 4
TORSO_SLICE_M = 0.02  # height of the slices in which the torso's mid-depth is measured

_PART = {name: i for i, name in enumerate(FINE_PART_NAMES)}


@dataclass(frozen=True)
class LimbJoints:
    """Joint centres (3,) of one limb in the surface frame, proximal to distal: root (shoulder / hip),
    middle (elbow / knee), end (wrist / ankle), tip (middle-finger base / middle toe)."""

    root: np.ndarray
    middle: np.ndarray
    end: np.ndarray
    tip: np.ndarray


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _front_half(centroids: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(F,) bool: face centroid lies in front (-y side) of the plane through segment a->b that contains
    the limb's side direction (front direction = -y made orthogonal to the segment)."""
    axis = _unit(b - a)
    front = np.array([0.0, -1.0, 0.0])
    front = _unit(front - axis * (front @ axis))
    return (centroids - a) @ front > 0.0


def _limb_labels(centroids: np.ndarray, joints: LimbJoints, side: str, kind: str) -> np.ndarray:
    """(F,) fine labels of faces of one limb (arm or leg) by joint planes and front/back planes."""
    segs = ("upper_arm", "lower_arm", "hand") if kind == "arm" else ("upper_leg", "lower_leg", "foot")
    after_middle = (centroids - joints.middle) @ _unit(joints.end - joints.root) > 0.0
    after_end = (centroids - joints.end) @ _unit(joints.end - joints.middle) > 0.0
    upper_front = _front_half(centroids, joints.root, joints.middle)
    lower_front = _front_half(centroids, joints.middle, joints.end)
    labels = np.where(upper_front, _PART[f"{segs[0]}_{side}_front"], _PART[f"{segs[0]}_{side}_back"])
    lower = np.where(lower_front, _PART[f"{segs[1]}_{side}_front"], _PART[f"{segs[1]}_{side}_back"])
    labels = np.where(after_middle, lower, labels)
    extremity = _PART[f"{side}_{segs[2]}"]
    return np.where(after_middle & after_end, extremity, labels)


def _torso_labels(centroids: np.ndarray, vertices: np.ndarray, torso_vertices: np.ndarray) -> np.ndarray:
    """(F,) torso_front / torso_back by the mid-depth of the torso's horizontal slice at each face."""
    z0 = vertices[torso_vertices, 2].min()
    vslice = ((vertices[torso_vertices, 2] - z0) // TORSO_SLICE_M).astype(np.int64)
    n_slices = vslice.max() + 1
    y = vertices[torso_vertices, 1]
    y_min = np.full(n_slices, np.inf)
    y_max = np.full(n_slices, -np.inf)
    np.minimum.at(y_min, vslice, y)
    np.maximum.at(y_max, vslice, y)
    fslice = np.clip(((centroids[:, 2] - z0) // TORSO_SLICE_M).astype(np.int64), 0, n_slices - 1)
    mid = 0.5 * (y_min + y_max)[fslice]
    return np.where(centroids[:, 1] < mid, _PART["torso_front"], _PART["torso_back"])


def smooth_labels(labels: np.ndarray, neighbours: np.ndarray, iterations: int) -> np.ndarray:
    """Synchronous majority filter: a face whose 3 edge-neighbours include >= 2 with one other label
    takes that label. Symmetric and order-independent (at most one label can hold 2 of 3).
    neighbours: (F, 3) from mesh_topology.edge_neighbours; -1 (open boundary) counts as the face itself."""
    for _ in range(iterations):
        nl = np.where(neighbours >= 0, labels[neighbours], labels[:, None])  # (F, 3)
        pair_a = (nl[:, 0] == nl[:, 1]) | (nl[:, 0] == nl[:, 2])
        majority = np.where(pair_a, nl[:, 0], np.where(nl[:, 1] == nl[:, 2], nl[:, 1], labels))
        labels = majority
    return labels


def keep_largest_components(faces: np.ndarray, labels: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """Make every label one edge-connected region: faces outside their label's largest component take,
    repeatedly, the label most common among their neighbours that already sit in a kept component."""
    labels = labels.copy()
    while True:
        comp = face_components(faces, labels)
        size = np.bincount(comp)
        # Largest component per label (ties -> smallest component id, which is deterministic).
        order = np.lexsort((np.arange(len(size)), -size))
        comp_label = np.zeros(len(size), dtype=np.int64)
        np.put(comp_label, comp, labels)
        _, first = np.unique(comp_label[order], return_index=True)
        kept = np.zeros(len(size), dtype=bool)
        kept[order[first]] = True
        stray = ~kept[comp]
        if not stray.any():
            return labels
        votes = np.zeros((len(faces), NUM_FINE_PARTS + 1), dtype=np.int64)
        nb = neighbours[stray]
        ok = (nb >= 0) & ~stray[nb]
        rows = np.repeat(np.where(stray)[0], 3)[ok.ravel()]
        np.add.at(votes, (rows, labels[nb].ravel()[ok.ravel()]), 1)
        has_vote = votes.sum(axis=1) > 0
        labels[has_vote] = np.argmax(votes[has_vote], axis=1)


def segment_body(vertices: np.ndarray, faces: np.ndarray, region_weights: np.ndarray,
                 arms: dict[str, LimbJoints], legs: dict[str, LimbJoints],
                 face_mirror: np.ndarray) -> np.ndarray:
    """Fine part label per face.

    Args:
        vertices: (V, 3) float64 rest pose, surface frame (see module docstring).
        faces: (F, 3) int, a closed manifold surface, symmetric under ``face_mirror``.
        region_weights: (V, 6) float skinning weight of each vertex summed per region of REGIONS.
        arms, legs: {"right": LimbJoints, "left": LimbJoints}.
        face_mirror: (F,) int, mirror face of each face (see mirror.face_mirror_map).

    Returns:
        (F,) int64 labels in 1..24, exactly mirror-symmetric: label[face_mirror[f]] == FINE_PART_MIRROR[label[f]].
    """
    centroids = vertices[faces].mean(axis=1)
    region = np.argmax(region_weights[faces].sum(axis=1), axis=1)
    labels = np.zeros(len(faces), dtype=np.int64)
    torso = region == REGIONS.index("torso")
    head = region == REGIONS.index("head")
    labels[head] = np.where(centroids[head, 0] > 0.0, _PART["head_left"], _PART["head_right"])
    # Skinning weights blur the hip into a saw-tooth; cut torso|leg by the plane through the hip joint
    # perpendicular to the thigh instead, on each side of the sagittal plane.
    for side, joints in legs.items():
        on_side = (centroids[:, 0] > 0.0) == (joints.root[0] > 0.0)
        leg_or_torso = (region == REGIONS.index(f"leg_{side}")) | torso
        below_hip = (centroids - joints.root) @ _unit(joints.middle - joints.root) > 0.0
        region = np.where(on_side & leg_or_torso,
                          np.where(below_hip, REGIONS.index(f"leg_{side}"), REGIONS.index("torso")), region)
    torso = region == REGIONS.index("torso")
    torso_vertices = np.unique(faces[torso])
    labels[torso] = _torso_labels(centroids[torso], vertices, torso_vertices)
    for kind, limbs in (("arm", arms), ("leg", legs)):
        for side, joints in limbs.items():
            sel = region == REGIONS.index(f"{kind}_{side}")
            labels[sel] = _limb_labels(centroids[sel], joints, side, kind)

    neighbours = edge_neighbours(faces)
    labels = smooth_labels(labels, neighbours, SMOOTHING_ITERATIONS)
    labels = keep_largest_components(faces, labels, neighbours)
    # Exact symmetry: the left half (x > 0; no face straddles the plane symmetrically) decides.
    left = centroids[:, 0] > 0.0
    labels[face_mirror[left]] = FINE_PART_MIRROR[labels[left]]
    return labels
