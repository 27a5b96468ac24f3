"""Input enumeration: sorted folders and globs, output names, video frames in order, bad inputs."""
import numpy as np
import pytest

from densepose_ext.inference_io.inputs import (InputError, count_frames, iter_frames, resolve_inputs,
                                               video_frame_name)

from .media import make_folder, write_image, write_video


def _never(name):
    return False


def test_folder_sorted_image_extensions_only(tmp_path):
    folder = make_folder(tmp_path / "in")
    sources = resolve_inputs(str(folder))
    assert [s.name for s in sources] == ["broken", "img_a", "img_b", "img_c"]
    assert not any(s.is_video for s in sources)
    frames = list(iter_frames(sources, _never))
    assert [f.error is None for f in frames] == [False, True, True, True]
    assert "broken.jpg" in frames[0].source and "not an image" in frames[0].error
    assert all(f.image.shape == (48, 64, 3) and f.image.dtype == np.uint8 for f in frames[1:])


def test_glob_sorted_recursive_with_relative_names(tmp_path):
    for rel in ("b/x1.png", "a/x2.png", "a/deeper/x0.png", "a/skip.txt"):
        write_image(tmp_path / rel, 0) if rel.endswith(".png") else (tmp_path / rel).write_text("")
    sources = resolve_inputs(str(tmp_path / "**" / "x*.png"))
    assert [s.name for s in sources] == ["a/deeper/x0", "a/x2", "b/x1"]
    assert [s.name for s in resolve_inputs(str(tmp_path / "a" / "*.png"))] == ["x2"]


def test_single_image_and_skip_predicate(tmp_path):
    path = tmp_path / "photo.jpeg"
    write_image(path, 3)
    (source,) = resolve_inputs(str(path))
    assert (source.name, source.is_video) == ("photo", False)
    (frame,) = iter_frames([source], lambda name: name == "photo")
    assert frame.image is None and frame.error is None  # done earlier: not even decoded


def test_video_frames_in_order_with_names_and_skips(tmp_path):
    path = tmp_path / "clip.mp4"
    write_video(path, 5)
    sources = resolve_inputs(str(path))
    assert sources[0].is_video and count_frames(sources) == 5
    skipped = {video_frame_name("clip", 1), video_frame_name("clip", 3)}
    frames = list(iter_frames(sources, skipped.__contains__))
    assert [f.name for f in frames] == [f"clip/frame_{k:06d}" for k in range(5)]
    assert [f.index for f in frames] == list(range(5))
    assert [f.image is None for f in frames] == [False, True, False, True, False]
    means = [float(f.image.mean()) for f in frames if f.image is not None]
    np.testing.assert_allclose(means, [20, 100, 180], atol=4)  # frames 0, 2, 4, lossy codec


def test_unreadable_video_is_reported_not_raised(tmp_path):
    path = tmp_path / "broken.mp4"
    path.write_bytes(b"not a video")
    (frame,) = iter_frames(resolve_inputs(str(path)), _never)
    assert frame.name == "broken" and frame.image is None and "video" in frame.error


@pytest.mark.parametrize("spec,message", [("missing.png", "no such file"), ("*.nothing", "no image files")])
def test_missing_inputs_raise_with_the_input_named(tmp_path, monkeypatch, spec, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=message) as err:
        resolve_inputs(spec)
    assert spec in str(err.value)


def test_same_output_name_is_an_error_naming_both_files(tmp_path):
    write_image(tmp_path / "a.jpg", 0)
    write_image(tmp_path / "a.png", 1)
    with pytest.raises(InputError, match=r"a\.jpg.*a\.png.*'a'"):
        resolve_inputs(str(tmp_path))
