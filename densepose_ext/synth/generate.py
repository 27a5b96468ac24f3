"""Write a DensePose-Synth dataset: images, exact dense truth, per-image cameras/bodies, COCO JSON.

Layout under OUT (see docs/FORMAT_synth.md):
    annotations.json            COCO JSON (images, annotations with dp_* fields, person category)
    images/<stem>.jpg           RGB image
    dense/<stem>_IUV.png        the reference's layout: B = I, G = round(U*255), R = round(V*255) per pixel
    dense/<stem>_INDS.png       gray: 0 background, k = k-th annotation of the image in JSON order
    meta/<stem>.json            camera and the exact body parameters of every person
    shards/<stem>.json          the image's COCO records; written last, so it marks the image done
    synth_config.json           the arguments; a resumed run must use the same ones

Image ``index`` (0-based) has stem ``f"{index:06d}"``, COCO id ``index + 1`` and a random generator seeded
by ``(seed, index)`` alone, so the output is byte-identical whatever the worker count or resume history.
Images are rendered on the body surface SYNTH_SURFACE names (dataset_format.py), passed down explicitly and
loaded once per process.
"""
from __future__ import annotations

import contextlib
import functools
import json
import multiprocessing
import os
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
from tqdm import tqdm

from densepose_ext.inference_io.atomic import atomic_write_bytes
from densepose_ext.surface import BodySurface
from densepose_ext.surface.source import SurfaceSource
from densepose_ext.synth.annotate import annotate
from densepose_ext.synth.body_model import COCO_KEYPOINT_NAMES, COCO_SKELETON, get_body_model
from densepose_ext.synth.dataset_format import (CONFIG_FILE, DENSE_DIR, FORMAT_VERSION, SYNTH_SURFACE,
                                                SynthFormatError, check_dense_format, dense_paths)
from densepose_ext.synth.render import render
from densepose_ext.synth.scene import sample_scene
from densepose_ext.utils.cli_errors import UserInputError
from densepose_ext.utils.image_file import encode_image
from densepose_ext.utils.output_location import check_output_folder
from densepose_ext.vis.iuv_image import iuv_png_bytes

PERSON_CATEGORY = {"id": 1, "name": "person", "supercategory": "person",
                   "keypoints": list(COCO_KEYPOINT_NAMES), "skeleton": [list(e) for e in COCO_SKELETON]}


MIN_SIZE = 16  # px, the smallest image height or width rendered


class SynthArgumentError(UserInputError):
    """Invalid generation arguments, or an output folder written with other ones or in another format."""


def image_stem(index: int) -> str:
    return f"{index:06d}"


def image_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of image `index`: depends on (seed, index) only."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, index])))


def _write(path: Path, data: bytes) -> None:
    """Atomic replace without fsync: a crash loses at most the images whose shard is missing, which a resumed
    run redoes."""
    atomic_write_bytes(path, data, fsync=False)


def render_image(index: int, seed: int, size: tuple[int, int], surface: BodySurface) -> dict:
    """Everything about image `index` rendered on `surface` (DensePose-Synth: ``SYNTH_SURFACE.load()``):
    'image' (COCO record), 'annotations' (without ids), 'rgb' (H,W,3), 'iuv' (H,W,3), 'inds' (H,W) uint8
    arrays, 'meta' (camera + people) and 'jpeg_quality'."""
    rng = image_rng(seed, index)
    model = get_body_model()
    scene = sample_scene(model, rng, size)
    rendering = render(scene, surface, rng)
    annotations, inds, person_to_ann = annotate(scene.camera, [p.keypoints for p in scene.people], rendering)
    meta = {"camera": scene.camera.to_json(),
            "people": [dict(p.to_json(), annotation=k) for p, k in zip(scene.people, person_to_ann)]}
    stem = image_stem(index)
    return {
        "image": {"id": index + 1, "file_name": f"{stem}.jpg", "height": size[0], "width": size[1]},
        "annotations": annotations, "rgb": rendering.image, "inds": inds,
        "iuv": rendering.iuv(),
        "meta": meta, "jpeg_quality": scene.jpeg_quality,
    }


def write_image(out: Path, index: int, seed: int, size: tuple[int, int], surface: SurfaceSource) -> int:
    """Render image `index` on `surface` and write its files, the shard last. Returns the index.
    `surface` is the small picklable source, not the loaded surface: tasks sent to pool workers stay small,
    and ``load()`` is cached, so each process loads the surface once."""
    r = render_image(index, seed, size, surface.load())
    stem = image_stem(index)
    _write(out / "images" / f"{stem}.jpg",
           encode_image(".jpg", r["rgb"][:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, r["jpeg_quality"]]))
    iuv_path, inds_path = dense_paths(out, stem)
    _write(iuv_path, iuv_png_bytes(r["iuv"]))
    _write(inds_path, encode_image(".png", r["inds"], [cv2.IMWRITE_PNG_COMPRESSION, 1]))
    _write(out / "meta" / f"{stem}.json", json.dumps(r["meta"]).encode())
    _write(out / "shards" / f"{stem}.json",
           json.dumps({"image": r["image"], "annotations": r["annotations"]}).encode())
    return index


def _check_config(out: Path, config: dict) -> None:
    path = out / CONFIG_FILE
    if path.is_file():
        try:  # resuming into a folder of another format would mix two IUV layouts
            check_dense_format(out)
        except SynthFormatError as e:
            raise SynthArgumentError(e.source, e.expected, e.found, item=e.item) from e
        old = json.loads(path.read_text())
        if old != config:
            raise SynthArgumentError(path, f"the arguments this folder was generated with, {old}",
                                     f"{config}; use a new --out folder or the same arguments to resume")
    else:
        _write(path, json.dumps(config, indent=1).encode())


def merge(out: Path, num_images: int) -> dict:
    """Merge the shards of images 0..num_images-1 into OUT/annotations.json (annotation ids numbered in
    image order from 1). Returns the COCO dict."""
    images, annotations = [], []
    for index in range(num_images):
        shard_path = out / "shards" / f"{image_stem(index)}.json"
        if not shard_path.is_file():
            raise FileNotFoundError(f"{shard_path}: image {index} is not rendered yet; rerun the generator")
        shard = json.loads(shard_path.read_text())
        images.append(shard["image"])
        for ann in shard["annotations"]:
            annotations.append(dict(id=len(annotations) + 1, image_id=shard["image"]["id"], **ann))
    coco = {"info": {"description": "DensePose-Synth (densepose_ext)", "version": str(FORMAT_VERSION)},
            "images": images, "annotations": annotations, "categories": [PERSON_CATEGORY]}
    _write(out / "annotations.json", json.dumps(coco).encode())
    return coco


@contextlib.contextmanager
def _one_thread_per_process() -> Iterator[None]:
    """Each process renders one image at a time on one core: BLAS/OpenMP/OpenCV threads would only contend.
    Restores the previous settings on exit (the caller may be a training script)."""
    previous_cv2 = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: without it BLAS keeps its default thread count
        limits = contextlib.nullcontext()
    else:
        limits = threadpool_limits(1)
    try:
        with limits:
            yield
    finally:
        cv2.setNumThreads(previous_cv2)


def _init_worker(surface: SurfaceSource) -> None:
    # a pool worker lives only for this run: enter the limits for good, and load the assets once
    _one_thread_per_process().__enter__()
    get_body_model()
    surface.load()


def generate(out: str | os.PathLike, num_images: int, seed: int = 0, size: tuple[int, int] = (480, 640),
             workers: int = 1, progress: bool = True) -> dict:
    """Render images 0..num_images-1 into `out` (skipping those already done), then merge the JSON.
    size = (height, width). Returns the merged COCO dict."""
    for name, value, ok, expected in (("num_images", num_images, num_images >= 0, ">= 0"),
                                      ("workers", workers, workers >= 1, ">= 1"),
                                      ("size", size, min(size) >= MIN_SIZE, f"(height, width) >= {MIN_SIZE} px")):
        if not ok:
            raise SynthArgumentError(name, expected, str(value))
    check_output_folder(out, "out")
    out = Path(out)
    for sub in ("images", DENSE_DIR, "meta", "shards"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    _check_config(out, {"format_version": FORMAT_VERSION, "seed": seed, "size": list(size)})
    todo = [i for i in range(num_images) if not (out / "shards" / f"{image_stem(i)}.json").is_file()]
    task = functools.partial(write_image, out, seed=seed, size=size, surface=SYNTH_SURFACE)
    bar = tqdm(total=num_images, initial=num_images - len(todo), disable=not progress, desc="synth", unit="img")
    if workers == 1 or len(todo) <= 1:
        with _one_thread_per_process():
            for index in todo:
                task(index)
                bar.update(1)
    else:
        ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
        with ctx.Pool(workers, initializer=_init_worker, initargs=(SYNTH_SURFACE,)) as pool:
            for _ in pool.imap_unordered(task, todo):
                bar.update(1)
    bar.close()
    return merge(out, num_images)
