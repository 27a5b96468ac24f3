"""densepose_ext: DensePose (Güler et al., CVPR 2018) for detectron2.

``import densepose_ext`` registers the plugins with detectron2 and reads no file:

- ``DensePoseROIHeads`` in ``ROI_HEADS_REGISTRY`` (densepose_ext.modeling),
- the DensePose-COCO datasets in ``DatasetCatalog`` (densepose_synth_*, densepose_coco_2014_*; loaded lazily)
  and the "densepose" data type of detectron2's transforms (densepose_ext.data),
- the ``DensePoseTeacher`` meta-architecture in ``META_ARCH_REGISTRY`` (densepose_ext.teacher),
- the ``densepose_ext://`` prefix of detectron2's ``PathManager``, which names the models shipped in the package
  (densepose_ext.model_zoo),

and exports what a detectron2 pipeline plugs in::

    cfg = get_cfg(); add_densepose_config(cfg); cfg.merge_from_file("configs/...yaml")
    mapper = DensePoseDatasetMapper(cfg, is_train=True)
    evaluator = DensePoseCOCOEvaluator("densepose_synth_val", output_dir="output")
"""
from . import data, model_zoo, modeling, teacher  # noqa: F401  (registration)
from .config import add_densepose_config
from .data import DensePoseDatasetMapper, register_densepose_coco
from .evaluation import DensePoseCOCOEvaluator

__version__ = "0.1.0"

__all__ = ["DensePoseCOCOEvaluator", "DensePoseDatasetMapper", "add_densepose_config", "register_densepose_coco"]
