"""Frame ranges that do not fit the data: a manifest range beyond the images is an error naming the
scene, the split and the frames that exist; result rows outside the scored frames are scored as
the official rules say, with a note per file (a warning when most rows fall outside)."""
import pytest

import inference
import train
from config import load_config
from datasets.toy import write_toy_dataset
from loader.layout import DatasetError, DatasetLayout


@pytest.fixture
def root(tmp_path):
    return write_toy_dataset(tmp_path / "data", views=("1", "2"), frames=range(40), size=(64, 48),
                             train=(0, 28), test=(28, 100))


def test_test_range_past_the_last_image(root, tmp_path):
    message = (r"scene '1' split 'test' \[28, 100\) runs past the last image: its images are frames 0-39 under "
               rf"{root / '1'} \(ranges from {root / 'dataset.yaml'}\)")
    with pytest.raises(DatasetError, match=message):
        DatasetLayout(root).frames("1", "test")
    args, rest = inference.parse_args(["--checkpoint", "none", "--out", str(tmp_path / "out")])
    cfg = load_config(None, [f"--data.root={root}", "--model.backbone=resnet10", "--data.num_workers=0", *rest])
    with pytest.raises(DatasetError, match=message):
        inference.main(cfg, args)
    assert not (tmp_path / "out").exists()


def test_train_range_past_the_last_image_names_the_train_split(root, tmp_path):
    (root / "dataset.yaml").write_text('scenes:\n  "1": {train: [0, 100], test: [30, 40]}\n')
    cfg = load_config(None, [f"--data.root={root}", f"--train.out_dir={tmp_path / 'run'}", "--data.val_fraction=0.1",
                             "--model.weights=none", "--data.num_workers=0"])
    with pytest.raises(DatasetError, match=r"split 'train' \[0, 100\) runs past the last image: its images are "
                                           r"frames 0-39"):
        train.main(cfg)
    assert not (root / ".crop_cache").exists() and not (tmp_path / "run" / "last.pt").exists()


def test_a_range_after_the_last_image(root):
    (root / "dataset.yaml").write_text('scenes:\n  "1": {train: [0, 40], test: [45, 50]}\n')
    layout = DatasetLayout(root)
    assert layout.frames("1", "train") == list(range(40))
    with pytest.raises(DatasetError, match=r"split 'test' \[45, 50\) has no images: its images are frames 0-39"):
        layout.frames("1", "test")
