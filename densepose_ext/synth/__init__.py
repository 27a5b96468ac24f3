"""DensePose-Synth: a synthetic DensePose-COCO dataset with exact dense truth.

``python -m densepose_ext.synth --out DIR --num-images N --seed S`` renders one (see generate.py and
docs/FORMAT_synth.md). Nothing here registers with detectron2, and importing this package loads nothing:
the body model and the surface are loaded on first use.
"""
