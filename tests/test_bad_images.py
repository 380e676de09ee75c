"""Images that do not fit their view are errors naming the file wherever they are decoded:
another size than the view's first frame, a JPEG cut short. Nothing half-built is left."""
import cv2
import numpy as np
import pytest

import inference
import train
from config import load_config
from datasets.toy import write_toy_dataset
from loader.crops import jpeg_cut_short, read_image
from loader.layout import DatasetError, DatasetLayout
from loader.samples import build_samples


@pytest.fixture
def root(tmp_path):
    return write_toy_dataset(tmp_path / "data", views=("1", "2"), frames=range(10), size=(64, 48),
                             train=(0, 6), test=(6, 10))


def resize_image(root, view, frame, size=(80, 60)):
    path = root / "1" / view / "images" / f"{frame}.jpg"
    cv2.imwrite(str(path), cv2.resize(cv2.imread(str(path)), size))
    return path


def cut_short(root, view, frame):
    """Cut a JPEG in the middle of its image data: OpenCV decodes it, grey below the cut."""
    path = root / "1" / view / "images" / f"{frame}.jpg"
    data = path.read_bytes()
    scan = data.rfind(b"\xff\xda")
    path.write_bytes(data[: (scan + len(data)) // 2])
    assert cv2.imread(str(path)) is not None  # what used to pass silently
    return path


def samples(root, cache_root=None):
    data = build_samples(DatasetLayout(root), "train", views=2, frames=2, crop_size=(16, 8), cache_root=cache_root,
                         progress=False)
    return [data[i] for i in range(len(data))]


def tiny_training(root, out):
    return load_config(None, [f"--data.root={root}", f"--train.out_dir={out}", "--model.backbone=resnet10",
                              "--model.weights=none", "--data.crop_height=16", "--data.crop_width=8",
                              "--data.num_workers=0", "--data.val_fraction=0", "--train.max_steps=1"])


@pytest.mark.parametrize("damage, message", [(resize_image, "image is 80x60, but this view's first frame is 64x48"),
                                             (cut_short, "corrupt JPEG")])
def test_training_samples_and_crop_cache(root, tmp_path, damage, message):
    bad = damage(root, "2", 3)
    with pytest.raises(DatasetError, match=message) as err:
        samples(root)  # crops decoded per item
    assert str(err.value).startswith(f"{bad}: ")
    with pytest.raises(DatasetError, match=message):
        samples(root, tmp_path / "cache" / "crops")
    assert not (tmp_path / "cache").exists()  # no empty cache folder, no partial crops file
    with pytest.raises(DatasetError, match=message):  # train.py: the default cache inside the dataset
        train.main(tiny_training(root, tmp_path / "run"))
    assert not (root / ".crop_cache").exists()
    assert not any((tmp_path / "run" / name).exists() for name in ("last.pt", "best.pt", "metrics.jsonl"))


@pytest.mark.parametrize("damage, message", [(resize_image, "image is 80x60"), (cut_short, "corrupt JPEG")])
def test_inference(root, tmp_path, damage, message):
    bad = damage(root, "1", 8)
    args, rest = inference.parse_args(["--checkpoint", "none", "--out", str(tmp_path / "out")])
    cfg = load_config(None, [f"--data.root={root}", "--model.backbone=resnet10", "--model.head=pool",
                             "--data.crop_height=16", "--data.crop_width=8", "--data.num_workers=0", *rest])
    with pytest.raises(DatasetError, match=message) as err:
        inference.main(cfg, args)
    assert str(err.value).startswith(f"{bad}: ")
    assert not list((tmp_path / "out").glob("*.txt")) and not (tmp_path / "out" / "run.json").exists()


def test_a_frame_without_boxes_is_checked_when_rendered(root, tmp_path):
    from pipeline.render import render_scene

    bad = resize_image(root, "1", 7)
    layout = DatasetLayout(root)
    rows = {v: np.zeros((0, 10)) for v in layout.views("1")}
    with pytest.raises(DatasetError, match="image is 80x60") as err:
        render_scene(layout, "1", [6, 7, 8], rows, tmp_path / "render", progress=False)
    assert str(err.value).startswith(f"{bad}: ")
    assert not list((tmp_path / "render").glob("*.mp4"))


def test_jpeg_end_marker_check(root):
    path = root / "1" / "1" / "images" / "0.jpg"
    data = path.read_bytes()
    assert not jpeg_cut_short(data) and not jpeg_cut_short(data + b"\0" * 16)  # padding after the end is fine
    assert jpeg_cut_short(data[:-2]) and jpeg_cut_short(data[: len(data) // 2])
    assert not jpeg_cut_short(b"\x89PNG\r\n")  # other formats: the decoder decides
    path.write_bytes(b"not an image")
    with pytest.raises(DatasetError, match="cannot decode the image"):
        read_image(path)
