"""Views as video files: frame numbering, sequential decoding, the crop cache and rendering.

mp4 is lossy: decoded pixels are compared with tolerances, never exactly, except a file against
itself decoded twice by the same decoder."""
import os
import shutil

import numpy as np
import pytest
import yaml

from datasets.synthetic.generate import generate_dataset
from datasets.synthetic.scene import make_scene, render_view_frames
from loader.boxes import build_box_table
from loader.cache import build_cache, fingerprint
from loader.crops import crop_boxes
from loader.frames import VideoFile, read_frames, view_source
from loader.layout import DatasetError, DatasetLayout, parse_manifest
from loader.samples import build_samples

SETTINGS = dict(scenes=1, views=2, frames=6, people=(2, 2), size=(160, 96), seed=3, progress=False)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """The same synthetic scene written as JPEG folders and as mp4 views."""
    base = tmp_path_factory.mktemp("video_views")
    generate_dataset(base / "images", **SETTINGS)
    generate_dataset(base / "video", video=True, **SETTINGS)
    return base / "images", base / "video"


def rendered(view: int) -> list:
    """The generator's uncompressed frames of one view (the reference both files encode)."""
    scene = make_scene(SETTINGS["seed"], 0, n_views=SETTINGS["views"], n_frames=SETTINGS["frames"],
                       people=SETTINGS["people"], size=SETTINGS["size"], fps=10.0)
    return [r.image for r in render_view_frames(scene, view, SETTINGS["seed"], 0)]


def test_generator_writes_one_video_per_view_and_the_same_boxes(pair):
    images, video = pair
    for v in ("1", "2"):
        assert sorted(p.name for p in (video / "1" / v).iterdir()) == ["gt_det", "video.mp4"]
        for name in ("gt.txt", "det.txt"):
            assert (video / "1" / v / "gt_det" / name).read_text() == (images / "1" / v / "gt_det" / name).read_text()


def test_video_frames_are_numbered_from_zero_and_decode_close_to_the_rendering(pair):
    layout = DatasetLayout(pair[1])
    assert layout.frame_numbers("1", "1") == list(range(6))
    assert layout.frames("1", "test") == [4, 5]  # 0.7 * 6 frames train
    assert layout.image_size("1", "2", 0) == (160, 96)
    reference = rendered(1)
    for frame in range(6):
        image = layout.read_frame("1", "2", frame, size=(160, 96))
        assert image.shape == (96, 160, 3) and image.dtype == np.uint8
        assert np.abs(image.astype(int) - reference[frame]).mean() < 12  # lossy, but this frame
        if frame:  # ... and not the previous one (the scene moves between frames)
            other = np.abs(image.astype(int) - reference[frame - 1]).mean()
            assert other > np.abs(image.astype(int) - reference[frame]).mean()


def test_decoding_is_sequential_and_an_earlier_frame_restarts_it(pair):
    source = view_source(pair[1] / "1" / "1")
    assert isinstance(source, VideoFile) and source.count == 6
    forward = dict(read_frames(source, [5, 1, 3]))  # read in increasing order whatever the order given
    assert list(forward) == [1, 3, 5] and source.restarts == 0
    again = source.read(3)  # earlier than the last frame read: decoding starts over
    assert source.restarts == 1
    np.testing.assert_array_equal(again, forward[3])  # the same file, the same decoder
    with pytest.raises(FileNotFoundError, match=r"frame 6 not in video .*video.mp4 \(its frames are 0-5\)"):
        source.read(6)
    with pytest.raises(DatasetError, match="expected 10x10"):
        source.read(4, size=(10, 10))
    source.count = 8  # a container index that promises more frames than the file holds
    with pytest.raises(DatasetError, match=r"video.mp4: the video ends after 6 frames, but its index says 8"):
        source.read(7)


def test_ensure_dataset_tells_video_and_image_datasets_apart(tmp_path):
    from datasets.synthetic.generate import ensure_dataset
    settings = dict(SETTINGS, frames=3)
    assert ensure_dataset(tmp_path / "d", video=True, **settings)
    assert not ensure_dataset(tmp_path / "d", video=True, **settings)  # made with these settings
    assert ensure_dataset(tmp_path / "d", **settings)  # an image dataset is another one
    assert (tmp_path / "d" / "1" / "1" / "images").is_dir() and not (tmp_path / "d" / "1" / "1" / "video.mp4").exists()
    assert not ensure_dataset(tmp_path / "d", **settings)


def test_first_frame_shifts_the_numbers_of_video_views_only(pair, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(pair[1], root)
    manifest = yaml.safe_load((root / "dataset.yaml").read_text())
    manifest["scenes"]["1"] = {"train": [1, 5], "test": [5, 7], "first_frame": 1}
    (root / "dataset.yaml").write_text(yaml.safe_dump(manifest))
    layout = DatasetLayout(root)
    assert layout.frame_numbers("1", "1") == list(range(1, 7)) and layout.frames("1", "test") == [5, 6]
    first = DatasetLayout(pair[1]).read_frame("1", "1", 0)
    np.testing.assert_array_equal(layout.read_frame("1", "1", 1), first)
    assert layout.manifest.to_dict()["scenes"]["1"]["first_frame"] == 1


@pytest.mark.parametrize("value", [-1, 1.5, "1", True])
def test_first_frame_must_be_a_non_negative_integer(value):
    with pytest.raises(DatasetError, match=r"m.yaml: scene 'a': 'first_frame' must be an integer >= 0"):
        parse_manifest({"scenes": {"a": {"train": [0, 2], "test": [2, 4], "first_frame": value}}}, "m.yaml")


def test_first_frame_is_not_a_split():
    spec = parse_manifest({"scenes": {"a": {"train": [0, 2], "test": [2, 4], "first_frame": 1}}}).scenes["a"]
    assert sorted(spec.splits) == ["test", "train"] and spec.first_frame == 1


def test_a_view_is_images_or_one_video(pair, tmp_path):
    view = tmp_path / "v"
    (view / "images").mkdir(parents=True)
    os.symlink(pair[1] / "1" / "1" / "video.mp4", view / "video.mp4")
    with pytest.raises(DatasetError, match=r"holds both images/ and video.mp4"):
        view_source(view)
    (view / "images").rmdir()
    assert view_source(view).count == 6  # a symlink is read through
    shutil.copy(pair[1] / "1" / "1" / "video.mp4", view / "video.avi")
    with pytest.raises(DatasetError, match=r"more than one video \(video.avi, video.mp4\)"):
        view_source(view)
    with pytest.raises(FileNotFoundError, match=r"image folder not found: .*empty/images \(nor a video file video"):
        view_source(tmp_path / "empty")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "video.mp4").write_bytes(b"not a video")
    with pytest.raises(DatasetError, match=r"bad/video.mp4: cannot open the video"):
        view_source(tmp_path / "bad")


def test_crop_cache_from_videos_matches_jpeg_crops_in_one_pass(pair, tmp_path):
    crops = {}
    for name, root in zip(("images", "video"), pair):
        layout = DatasetLayout(root)
        table = build_box_table(layout, "train", "gt")
        crops[name] = build_cache(table, layout, (32, 16), tmp_path / name, progress=False).crops
        assert len(table) > 0
    assert crops["images"].shape == crops["video"].shape
    assert np.abs(crops["images"].astype(int) - crops["video"]).mean() < 12
    assert all(layout.frame_source("1", v).restarts == 0 for v in ("1", "2"))  # one decoding pass
    # the reference: crops of the uncompressed rendering, in table order
    ref = np.concatenate([crop_boxes(rendered(vi)[f][..., ::-1], table.tlwh[slice(*table.rows("1", v, f))], (32, 16))
                          for vi, v in enumerate(("1", "2")) for f in table.frames["1"].tolist()
                          if table.rows("1", v, f)[1] > table.rows("1", v, f)[0]])
    assert np.abs(ref.astype(int) - crops["video"]).mean() < 12


def test_cache_fingerprint_of_a_video_view_changes_with_the_file(pair, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(pair[1], root)
    table = build_box_table(DatasetLayout(root), "train", "gt")
    before = fingerprint(table, DatasetLayout(root), (32, 16))
    with open(root / "1" / "2" / "video.mp4", "ab") as f:
        f.write(b"\0")
    assert fingerprint(table, DatasetLayout(root), (32, 16)) != before


def test_training_on_video_views_needs_the_crop_cache(pair, tmp_path):
    with pytest.raises(DatasetError, match=r"video.mp4: training on video views needs the crop cache"):
        build_samples(DatasetLayout(pair[1]), "train", views=2, frames=2, crop_size=(16, 16))
    samples = build_samples(DatasetLayout(pair[1]), "train", views=2, frames=2, crop_size=(16, 16),
                            cache_root=str(tmp_path), progress=False)
    assert samples[0]["images"].shape[2:] == (3, 16, 16)


def test_train_py_runs_on_video_views(tmp_path):
    import train
    from config import load_config
    generate_dataset(tmp_path / "data", **dict(SETTINGS, frames=20), video=True)
    trainer = train.main(load_config(None, [f"--data.root={tmp_path / 'data'}", f"--train.out_dir={tmp_path / 'run'}",
                                            "--model.backbone=resnet10", "--model.weights=none",
                                            "--data.crop_height=32", "--data.crop_width=16", "--train.batch_size=2",
                                            "--data.num_workers=0", "--train.max_steps=2", "--train.val_interval=0",
                                            "--data.views=2", "--data.val_fraction=0.3"]))
    assert trainer.step == 2 and (tmp_path / "run" / "last.pt").is_file()
    caches = sorted(p.name for p in (tmp_path / "data" / ".crop_cache").iterdir())
    assert caches and all((tmp_path / "data" / ".crop_cache" / c / "crops.u8").stat().st_size > 0 for c in caches)
