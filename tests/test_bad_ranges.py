"""Frame ranges that do not fit the data: a manifest range beyond the images is an error naming the
scene, the split and the frames that exist; result rows outside the scored frames are scored as
the official rules say, with a note per file (a warning when most rows fall outside)."""
import json

import numpy as np
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


def eval_folder(tmp_path, shift_view1=0, extra_view2=()):
    """Scene 1, frames 801-804, two views of two people; results perfect except as the arguments say."""
    from loader.mot import write_mot

    (tmp_path / "scenes.csv").write_text("scene,start_frame,end_frame,num_views\n1,801,804,2\n")
    rows = [[f, pid, 40 * pid, 0, 10, 10, 1, -1, -1, -1] for f in range(801, 805) for pid in (1, 2)]
    for view in (1, 2):
        write_mot(tmp_path / "gt" / f"1_{view}.txt", np.array(rows, dtype=float))
    shifted = [[r[0] + shift_view1, *r[1:]] for r in rows]
    write_mot(tmp_path / "res" / "1_1.txt", np.array(shifted, dtype=float))
    write_mot(tmp_path / "res" / "1_2.txt", np.array(rows + [[f, 3, 0, 0, 10, 10, 1, -1, -1, -1] for f in extra_view2],
                                                     dtype=float))
    return ["--gt", str(tmp_path / "gt"), "--res", str(tmp_path / "res"), "--scenes", str(tmp_path / "scenes.csv"),
            "--json", str(tmp_path / "out.json")]


def test_rows_outside_the_scored_frames_are_noted_per_file(tmp_path, capsys):
    import eval as eval_cli

    args = eval_folder(tmp_path, shift_view1=-800, extra_view2=(1, 900))
    assert eval_cli.main(eval_cli.parse_args(args)) == 0
    out, err = capsys.readouterr()
    res1, res2 = tmp_path / "res" / "1_1.txt", tmp_path / "res" / "1_2.txt"
    assert (f"note: {res2}: 2 of 10 result rows lie outside the scene's scored frames 801-804 and are not "
            f"scored (official rule)\n") in err
    warning = (f"warning: {res1}: 8 of 8 result rows lie outside the scene's scored frames 801-804 and are "
               f"not scored (official rule); the rows span frames 1-4: is the frame numbering shifted?")
    assert warning in err and err.index(warning) > 0 and "warning" not in out
    doc = json.loads((tmp_path / "out.json").read_text())
    assert doc["per_view"]["1_1"]["MOTA"] == 0.0 and doc["per_view"]["1_1"]["FN"] == 8  # the official scoring
    assert doc["per_view"]["1_2"]["MOTA"] == 1.0 and doc["per_view"]["1_2"]["FP"] == 0
    assert sum("lie outside" in n for n in doc["notes"]) == 2


def test_no_note_when_every_row_is_scored(tmp_path, capsys):
    import eval as eval_cli

    assert eval_cli.main(eval_cli.parse_args(eval_folder(tmp_path))) == 0
    assert "outside" not in capsys.readouterr().err
