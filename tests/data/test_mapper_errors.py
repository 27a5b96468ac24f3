"""An image that cannot be read when the training mapper loads it (changed since the dataset was checked) reaches
the user as one line naming the file, also from a DataLoader worker process, and detectron2's trainer does not log
its traceback first."""
import logging
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from densepose_ext.data.dataset_mapper import DensePoseDatasetMapper
from densepose_ext.utils.cli_errors import EXIT_USER_ERROR, UserInputError, drop_user_error_tracebacks, run_cli


@pytest.fixture
def cut_image(tmp_path):
    path = tmp_path / "000001.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 60, 3), dtype=np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:200])  # truncated after the header
    return {"file_name": str(path), "image_id": 1, "height": 40, "width": 60, "annotations": []}


def _mapper():
    return DensePoseDatasetMapper(is_train=False, augmentations=[], image_format="BGR")


def test_the_mapper_names_an_unreadable_image(cut_image):
    with pytest.raises(UserInputError) as info:
        _mapper()(cut_image)
    assert str(info.value).startswith(f"{cut_image['file_name']}: expected a readable image of the dataset's size, "
                                      "found ")


def test_an_error_in_a_dataloader_worker_is_one_line(cut_image, capsys):
    def train_in_worker(argv):
        mapped = torch.utils.data.DataLoader([cut_image], batch_size=1, num_workers=1,
                                             collate_fn=lambda b: [_mapper()(d) for d in b])
        list(mapped)

    assert run_cli(train_in_worker, "train_net.py", []) == EXIT_USER_ERROR
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"train_net.py: error: {cut_image['file_name']}: expected a readable image"), err
    assert len(err) == 2 and not any("Traceback" in line or "worker" in line for line in err)


def test_a_programming_error_in_a_worker_keeps_its_traceback():
    def broken(argv):
        list(torch.utils.data.DataLoader([1], num_workers=1, collate_fn=lambda b: b[0] / 0))

    with pytest.raises(ZeroDivisionError, match="Caught ZeroDivisionError in DataLoader worker"):
        run_cli(broken, "train_net.py", [])


def _record(error: BaseException) -> logging.LogRecord:
    try:
        raise error
    except BaseException:
        return logging.LogRecord("detectron2.engine.train_loop", logging.ERROR, __file__, 1,
                                 "Exception during training:", None, sys.exc_info())


def test_the_trainer_log_filter_drops_only_user_errors(monkeypatch):
    monkeypatch.delenv("DENSEPOSE_DEBUG", raising=False)
    assert not drop_user_error_tracebacks(_record(UserInputError("a.png", "an image", "nothing")))
    assert drop_user_error_tracebacks(_record(ZeroDivisionError("bug")))
    assert drop_user_error_tracebacks(logging.LogRecord("x", logging.INFO, __file__, 1, "iter 10", None, None))
    monkeypatch.setenv("DENSEPOSE_DEBUG", "1")
    assert drop_user_error_tracebacks(_record(UserInputError("a.png", "an image", "nothing")))
