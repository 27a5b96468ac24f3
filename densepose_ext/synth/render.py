"""Render a scene: exact dense truth from the id buffer, and a separately shaded, degraded RGB image.

The dense truth (person, part I, chart U/V, depth) comes straight from the rasterised triangle id and
barycentrics at each pixel centre, mapped through the body surface (``face_part``, ``face_uv``); the RGB
image is computed from it and then blurred/noised, so nothing ever mixes two ids.
"""
from __future__ import annotations

import dataclasses
import functools

import cv2
import numpy as np
import scipy.sparse

from densepose_ext.surface import BodySurface
from densepose_ext.synth.backgrounds import sample_background
from densepose_ext.synth.ground import paint_ground
from densepose_ext.synth.occluders import sample_occluders
from densepose_ext.synth.raster import rasterize
from densepose_ext.synth.scene import Scene
from densepose_ext.synth.shading import albedo, hair_faces, lambert


@dataclasses.dataclass(frozen=True)
class Rendering:
    """Per-pixel results, image px frame, shape (H,W) unless noted. Pixels hidden by an occluder object are
    background in person/part/uv, and carry the occluder's depth.

    image (H,W,3) uint8 RGB (before JPEG); person int16: index into scene.people, -1 = background;
    part uint8: fine label 0..24; uv (H,W,2) float32: chart (U, V) in [0,1] (0 on background);
    depth float32: camera depth in metres (inf on background).
    """

    image: np.ndarray
    person: np.ndarray
    part: np.ndarray
    uv: np.ndarray
    depth: np.ndarray

    def iuv(self) -> np.ndarray:
        """(H,W,3) uint8 IUV image: (I, round(U*255), round(V*255))."""
        uv8 = np.rint(self.uv * 255.0).astype(np.uint8)
        return np.concatenate([self.part[:, :, None], uv8], axis=2)


_NOISE_BANK_SIZE = 1024


@functools.lru_cache(maxsize=1)
def _noise_bank() -> np.ndarray:
    """(1024,1024,3) float32 standard normal samples, fixed: drawing fresh full-image noise per image costs
    more than the rest of the shading, and a random window of a large bank looks the same."""
    return np.random.default_rng(0).standard_normal((_NOISE_BANK_SIZE, _NOISE_BANK_SIZE, 3), dtype=np.float32)


def _sensor_noise(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """(H,W,3) float32 standard normal noise: a random window of the bank, or fresh samples if larger."""
    height, width = size
    if height > _NOISE_BANK_SIZE or width > _NOISE_BANK_SIZE:
        return rng.standard_normal((height, width, 3), dtype=np.float32)
    y0, x0 = rng.integers(_NOISE_BANK_SIZE - height + 1), rng.integers(_NOISE_BANK_SIZE - width + 1)
    return _noise_bank()[y0:y0 + height, x0:x0 + width]


def vertex_normals(vertices: np.ndarray, faces: np.ndarray, incidence: scipy.sparse.csr_matrix) -> np.ndarray:
    """(V,3) unit normals: area-weighted sum of the normals of the faces around each vertex (outward for
    counter-clockwise faces). incidence: (V,F) 0/1 matrix from :func:`vertex_face_incidence`."""
    v0, v1, v2 = (vertices[faces[:, k]] for k in range(3))
    normals = incidence @ np.cross(v1 - v0, v2 - v0)
    return normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)


def vertex_face_incidence(faces: np.ndarray, num_vertices: int) -> scipy.sparse.csr_matrix:
    """(V,F) sparse matrix with a 1 where vertex v is a corner of face f."""
    rows = faces.ravel()
    cols = np.repeat(np.arange(len(faces)), 3)
    return scipy.sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(num_vertices, len(faces)))


@functools.lru_cache(maxsize=4)
def _hair_faces_of(surface: BodySurface) -> np.ndarray:
    """hair_faces of a surface object, computed once per surface (surfaces are immutable singletons)."""
    return hair_faces(np.asarray(surface.vertices), np.asarray(surface.faces), np.asarray(surface.face_part))


def render(scene: Scene, surface: BodySurface, rng: np.random.Generator) -> Rendering:
    """Rasterise all people of `scene` with the triangles of `surface` (uses its rest vertices (V,3), faces
    (F,3), face_part (F,), face_uv (F,3,2)); `rng` draws occluders, floor, background and sensor noise."""
    height, width = scene.camera.size
    faces = np.asarray(surface.faces)
    num_faces, num_verts = len(faces), len(scene.people[0].vertices) if scene.people else 0
    per_person = [scene.camera.project(p.vertices) for p in scene.people]
    if scene.people:
        screen = np.concatenate(per_person)
        all_faces = np.concatenate([faces + k * num_verts for k in range(len(scene.people))])
    else:
        screen, all_faces = np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64)
    face, bary, depth = rasterize(screen, all_faces, (height, width))
    occluder_depth = sample_occluders(rng, per_person, (height, width))
    occluder = occluder_depth < depth
    face[occluder] = -1
    depth = np.minimum(depth, occluder_depth)

    fg = face >= 0
    fg_face = face[fg]
    person_fg = fg_face // num_faces if num_faces else fg_face
    local = fg_face - person_fg * num_faces
    bary_fg = bary[fg]
    part_fg = np.asarray(surface.face_part)[local]
    uv_fg = np.einsum("nk,nkc->nc", bary_fg, np.asarray(surface.face_uv)[local])

    person = np.full((height, width), -1, dtype=np.int16)
    person[fg] = person_fg
    part = np.zeros((height, width), dtype=np.uint8)
    part[fg] = part_fg
    uv = np.zeros((height, width, 2), dtype=np.float32)
    uv[fg] = np.clip(uv_fg, 0.0, 1.0)

    colour_fg = np.zeros((len(fg_face), 3), dtype=np.float32)
    incidence = vertex_face_incidence(faces, num_verts) if scene.people else None
    hair = _hair_faces_of(surface)
    for k, p in enumerate(scene.people):
        sel = person_fg == k
        if not sel.any():
            continue
        vn = vertex_normals(p.vertices, faces, incidence)
        normals = np.einsum("nk,nkc->nc", bary_fg[sel], vn[faces[local[sel]]])
        normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
        colour_fg[sel] = lambert(albedo(p.appearance, part_fg[sel], uv_fg[sel], hair[local[sel]]), normals, scene.light,
                                 scene.ambient)
    rgb = sample_background(rng, (height, width))
    paint_ground(rng, scene.camera, rgb)
    rgb[fg] = colour_fg
    if occluder.any():
        rgb[occluder] = sample_background(rng, (height, width))[occluder] * np.float32(rng.uniform(0.5, 1.0))
    if scene.blur_sigma > 0.05:
        rgb = cv2.GaussianBlur(rgb, (0, 0), scene.blur_sigma)
    rgb += _sensor_noise(rng, (height, width)) * np.float32(scene.noise_sigma)
    rgb *= 255.0
    rgb += 0.5
    image = np.clip(rgb, 0.0, 255.0, out=rgb).astype(np.uint8)
    return Rendering(image=image, person=person, part=part, uv=uv, depth=depth)
