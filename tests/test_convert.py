"""Converters: tiny fixtures in each SOURCE format written here, the rows, ids, frames, links and
manifests they become (hand-computed), bad input, and one training step on a converted dataset."""
import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from datasets.convert import FORMATS, convert
from datasets.convert.common import ConvertError
from datasets.convert.__main__ import main as convert_main, parse_args as convert_args
from loader.layout import DatasetLayout, load_manifest
from loader.mot import read_mot

W, H = 64, 48  # fixture image size


def image(path: Path, value: int = 100, size=(W, H)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full((size[1], size[0], 3), value, np.uint8))
    return path


def text(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    return path


def video(path: Path, frames: int = 5, size=(32, 24)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    codec = "MJPG" if path.suffix == ".avi" else "mp4v"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), 25, size)
    for i in range(frames):
        w.write(np.full((size[1], size[0], 3), 40 * i % 256, np.uint8))
    w.release()
    return path


def rows(path: Path) -> list:
    """Rows of a written MOT file as ``[frame, id, x, y, w, h]`` lists (2 decimals written)."""
    return [[int(r[0]), int(r[1]), *[round(float(v), 2) for v in r[2:6]]] for r in read_mot(path)]


def link_target(path: Path) -> Path:
    assert path.is_symlink(), path
    target = Path(os.readlink(path))
    assert target.is_absolute(), target  # documented: absolute links
    return target


# ---------------------------------------------------------------------------------------------- mvmhat
def write_mvmhat(src: Path, fmt: str) -> None:
    box_file, det_file = {"mvmhat": ("gt.txt", "det.txt"), "mvmhat++": ("anno.txt", "det_res.txt")}[fmt]
    for seq, first in (("1", 1), ("11", 0)):  # scene 1 numbers frames from 1, folder 11 (scene 12) from 0
        for view in ("1", "2"):
            for f in range(first, first + 3):
                image(src / seq / view / "images" / f"{f}.jpg")
            # sorted by id then frame as the MATLAB export; scientific notation; one w <= 0 row
            text(src / seq / view / "gt_det" / box_file,
                 f"{first},1,1.0e+01,5,20,30,-1,-1,-1,-1\n{first + 1},1,11,5,20,30,-1,-1,-1,-1\n"
                 f"{first},2,-3,4,0,10,-1,-1,-1,-1\n{first + 2},{view}7,30,6,1.5e+01,2.5e+01,-1,-1,-1,-1\n")
            text(src / seq / view / "gt_det" / det_file, f"{first},-1,9,4,21,31,0.9,-1,-1,-1\n")


@pytest.mark.parametrize("fmt", ["mvmhat", "mvmhat++"])
def test_mvmhat_rows_links_and_released_ranges(tmp_path, fmt):
    src, out = tmp_path / "src", tmp_path / "out"
    write_mvmhat(src, fmt)
    convert(fmt, src, out)
    m = load_manifest(out / "dataset.yaml")
    # the scenes found, under the evaluation's names, with configs/datasets/mvmhat.yaml's ranges
    assert list(m.scenes) == ["1", "12"]
    assert m.scenes["1"].dir == "1" and m.scenes["1"].splits == {"train": (0, 800), "test": (800, 1200)}
    assert m.scenes["12"].dir == "11" and m.scenes["12"].splits == {"train": (500, 1500), "test": (1500, 2000)}
    for seq, first in (("1", 1), ("11", 0)):
        for view in ("1", "2"):
            vdir = out / seq / view
            assert rows(vdir / "gt_det" / "gt.txt") == [  # frame, then id; the w = 0 row dropped
                [first, 1, 10, 5, 20, 30], [first + 1, 1, 11, 5, 20, 30], [first + 2, int(f"{view}7"), 30, 6, 15, 25]]
            assert rows(vdir / "gt_det" / "det.txt") == [[first, -1, 9, 4, 21, 31]]
            assert sorted(p.name for p in (vdir / "images").iterdir()) == [f"{f}.jpg" for f in range(first, first + 3)]
            assert link_target(vdir / "images" / f"{first}.jpg") == (src / seq / view / "images" / f"{first}.jpg").resolve()
    layout = DatasetLayout(out, ranges="positions")
    assert layout.views("12") == ["1", "2"] and sorted(layout.image_paths("1", "2")) == [1, 2, 3]
    assert layout.read_boxes("12", "1").shape == (3, 10)


def test_mvmhat_detections_are_optional_and_foreign_folders_refused(tmp_path):
    src = tmp_path / "src"
    write_mvmhat(src, "mvmhat")
    for view in ("1", "2"):
        (src / "1" / view / "gt_det" / "det.txt").unlink()
    convert("mvmhat", src, tmp_path / "out")
    assert not (tmp_path / "out" / "1" / "1" / "gt_det" / "det.txt").exists()
    assert (tmp_path / "out" / "11" / "1" / "gt_det" / "det.txt").is_file()
    (src / "extra").mkdir()
    with pytest.raises(ConvertError, match=r"\['extra'\] are not MvMHAT's"):
        convert("mvmhat", src, tmp_path / "out2")


# ------------------------------------------------------------------------------------------------- mmp
def write_mmp(src: Path) -> None:
    labels = {0: {"3": [10, 5, 30, 40], "7": [-5, 0, 20, 50]},  # 7 is clipped to the image
              1: {"3": ["11.5", 5, 30, 40], "9": [70, 10, 90, 20]},  # 9 lies wholly right of the image
              2: {}}
    for split, time, scene in (("train", "63am", "cafe_shop_0"), ("validation", "64pm", "lobby_0")):
        for cam in (1, 2):
            for frame, label in labels.items():
                image(src / split / "images" / time / scene / f"rgb_{frame:05d}_{cam}.jpg")
                text(src / split / "labels" / time / scene / f"rgb_{frame:05d}_{cam}.json", json.dumps(label))


def test_mmp_corners_clipped_ids_and_split_manifests(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    write_mmp(src)
    convert("mmp", src, out)
    for scene in ("63am_cafe_shop_0", "64pm_lobby_0"):
        for cam in ("1", "2"):
            assert rows(out / scene / cam / "gt_det" / "gt.txt") == [
                [0, 3, 10, 5, 20, 35], [0, 7, 0, 0, 20, 48], [1, 3, 11.5, 5, 18.5, 35]]
            assert sorted(p.name for p in (out / scene / cam / "images").iterdir()) == ["0.jpg", "1.jpg", "2.jpg"]
    assert link_target(out / "64pm_lobby_0" / "2" / "images" / "1.jpg").name == "rgb_00001_2.jpg"
    whole = {"train": (0, 3), "test": (0, 3)}
    assert {k: s.splits for k, s in load_manifest(out / "dataset.yaml").scenes.items()} == {
        "63am_cafe_shop_0": whole, "64pm_lobby_0": whole}
    assert list(load_manifest(out / "train.yaml").scenes) == ["63am_cafe_shop_0"]
    assert list(load_manifest(out / "test.yaml").scenes) == ["64pm_lobby_0"]
    layout = DatasetLayout(out, out / "test.yaml")
    assert layout.frames("64pm_lobby_0", "test") == [0, 1, 2]


# ------------------------------------------------------------------------------------------- divotrack
def write_divotrack(src: Path, old_names: bool = False) -> None:
    for view in (1, 2):
        name = ({1: "circleRegion_Drone", 2: "circleRegion_View1"}[view] if old_names else f"Circle_View{view}")
        for half, frames in (("test", (1, 2)), ("train", (3, 4))):
            seq = src / "images" / half / name
            for f in frames:
                image(seq / "img1" / f"{name}_{f:06d}.jpg")
            if half == "test" and view == 2:
                continue  # a test half without gt/gt.txt (five DIVOTrack scenes)
            a, b = frames
            text(seq / "gt" / "gt.txt", f"{a},5,10,4,20,30,1,1,1\n{b},5,12,4,20,30,1,1,1\n{b},6,1,1,-4,30,1,1,1\n")


def test_divotrack_halves_merged_frames_kept_and_bad_boxes_dropped(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    write_divotrack(src)
    convert("divotrack", src, out)
    assert load_manifest(out / "dataset.yaml").scenes["Circle"].splits == {"train": (3, 5), "test": (1, 3)}
    assert rows(out / "Circle" / "1" / "gt_det" / "gt.txt") == [
        [1, 5, 10, 4, 20, 30], [2, 5, 12, 4, 20, 30], [3, 5, 10, 4, 20, 30], [4, 5, 12, 4, 20, 30]]
    assert rows(out / "Circle" / "2" / "gt_det" / "gt.txt") == [[3, 5, 10, 4, 20, 30], [4, 5, 12, 4, 20, 30]]
    assert sorted(p.name for p in (out / "Circle" / "2" / "images").iterdir()) == ["1.jpg", "2.jpg", "3.jpg", "4.jpg"]
    assert link_target(out / "Circle" / "2" / "images" / "3.jpg").name == "Circle_View2_000003.jpg"
    layout = DatasetLayout(out)
    assert layout.frames("Circle", "test") == [1, 2] and layout.frames("Circle", "train") == [3, 4]


def test_divotrack_old_names_become_the_new_ones(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    write_divotrack(src, old_names=True)
    convert("divotrack", src, out)
    # Drone -> View1 -> folder 1; old View1 -> View2 -> folder 2
    assert sorted(p.name for p in out.iterdir()) == ["Circle", "dataset.yaml"]
    assert link_target(out / "Circle" / "1" / "images" / "1.jpg").name == "circleRegion_Drone_000001.jpg"
    assert link_target(out / "Circle" / "2" / "images" / "4.jpg").name == "circleRegion_View1_000004.jpg"


# ------------------------------------------------------------------------------------------- wildtrack
def write_wildtrack(src: Path) -> None:
    for cam in ("C1", "C2"):
        for f in (0, 5, 10):
            image(src / "Image_subsets" / cam / f"{f:08d}.png")
    unseen = {"xmin": -1, "ymin": -1, "xmax": -1, "ymax": -1}
    for f in (0, 5, 10):
        people = [  # views listed out of order: the converter must read viewNum
            {"personID": 4, "positionID": 1, "views": [{"viewNum": 1, "xmin": 2 + f, "ymin": 3, "xmax": 22 + f, "ymax": 40},
                                                       {"viewNum": 0, **unseen}]},
            {"personID": 9, "positionID": 2, "views": [{"viewNum": 0, "xmin": 50, "ymin": -8, "xmax": 80, "ymax": 30},
                                                       {"viewNum": 1, **unseen}]}]
        text(src / "annotations_positions" / f"{f:08d}.json", json.dumps(people))


def test_wildtrack_view_numbers_unseen_boxes_and_mvdet_split(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    write_wildtrack(src)
    convert("wildtrack", src, out)
    assert rows(out / "wildtrack" / "1" / "gt_det" / "gt.txt") == [[f, 9, 50, 0, 14, 30] for f in (0, 5, 10)]
    assert rows(out / "wildtrack" / "2" / "gt_det" / "gt.txt") == [[f, 4, 2 + f, 3, 20, 37] for f in (0, 5, 10)]
    assert sorted(p.name for p in (out / "wildtrack" / "2" / "images").iterdir()) == ["0.png", "10.png", "5.png"]
    # 3 annotated frames, test fraction 0.1: the last frame (at least one) is the test range
    assert load_manifest(out / "dataset.yaml").scenes["wildtrack"].splits == {"train": (0, 10), "test": (10, 11)}
    assert DatasetLayout(out).frames("wildtrack", "train") == [0, 5]
    convert("wildtrack", src, tmp_path / "half", test_fraction=0.5)  # round(1.5) = 2 test frames
    assert load_manifest(tmp_path / "half" / "dataset.yaml").scenes["wildtrack"].splits == {
        "train": (0, 5), "test": (5, 11)}


# -------------------------------------------------------------------------------------- epfl and campus
VATIC = ('1 2 3 12 20 0 0 0 0 "PERSON"\n'
         '1 2 3 12 20 1 1 0 1 "PERSON"\n'        # lost: dropped
         '1 25 3 40 20 2 0 1 1 "PERSON"\n'       # reaches past the 32-pixel-wide frame: clipped
         '0 5 5 9 9 3 0 0 0 "PERSON 2"\n')       # id 0 is a valid VATIC track id
VATIC_ROWS = [[0, 1, 2, 3, 10, 17], [2, 1, 25, 3, 7, 17], [3, 0, 5, 5, 4, 4]]


def test_epfl_video_views_from_vatic(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    for k in (0, 1):
        video(src / "videos" / f"terrace1-c{k}.avi")
        text(src / "annotations" / f"terrace1-c{k}.txt", VATIC)
    convert("epfl", src, out)
    for view in ("1", "2"):  # c0 -> 1, c1 -> 2
        assert rows(out / "terrace1" / view / "gt_det" / "gt.txt") == VATIC_ROWS
        assert link_target(out / "terrace1" / view / "video.avi") == (src / "videos" / f"terrace1-c{int(view) - 1}.avi").resolve()
        assert not (out / "terrace1" / view / "images").exists()
    # 5 decoded frames, test fraction 0.2: frames 0-3 train, 4 test
    assert load_manifest(out / "dataset.yaml").scenes["terrace1"].splits == {"train": (0, 4), "test": (4, 5)}


def test_campus_scene_folders_and_camera_kinds(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    for name in ("view-HC1", "view-HC2"):
        video(src / "Garden1" / f"{name}.mp4", frames=6)
        text(src / "Garden1" / f"{name}.txt", VATIC)
    for name in ("view-HC1", "view-IP1"):  # two kinds of camera: the kind stays in the view name
        video(src / "Auditorium" / f"{name}.mp4", frames=5)
        text(src / "Auditorium" / f"{name}.txt", VATIC)
    convert("campus", src, out)
    assert sorted(p.name for p in (out / "Garden1").iterdir()) == ["1", "2"]
    assert sorted(p.name for p in (out / "Auditorium").iterdir()) == ["HC1", "IP1"]
    assert rows(out / "Garden1" / "2" / "gt_det" / "gt.txt") == VATIC_ROWS
    assert (out / "Auditorium" / "IP1" / "video.mp4").is_symlink()
    splits = {k: s.splits for k, s in load_manifest(out / "dataset.yaml").scenes.items()}
    assert splits == {"Auditorium": {"train": (0, 4), "test": (4, 5)}, "Garden1": {"train": (0, 5), "test": (5, 6)}}


# ----------------------------------------------------------------------------------------- bad input
WRITERS = {"mvmhat": lambda s: write_mvmhat(s, "mvmhat"), "mvmhat++": lambda s: write_mvmhat(s, "mvmhat++"),
           "mmp": write_mmp, "divotrack": write_divotrack, "wildtrack": write_wildtrack}


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_missing_source_folder_is_named(tmp_path, fmt):
    with pytest.raises(ConvertError, match=f"not found: {tmp_path / 'nowhere'}"):
        convert(fmt, tmp_path / "nowhere", tmp_path / "out")


@pytest.mark.parametrize("fmt, bad_file, body, needle", [
    ("mvmhat", "1/2/gt_det/gt.txt", "1,1,10,5,20,30\n2,1,abc,5,20,30\n", r"gt\.txt:2: non-numeric"),
    ("mvmhat++", "11/1/gt_det/anno.txt", "\n0,1,10,5\n", r"anno\.txt:2: expected at least 6"),
    ("divotrack", "images/train/Circle_View1/gt/gt.txt", "3,5.5,10,4,20,30,1,1,1\n", r"gt\.txt:1: frame and id must be integers"),
    ("mmp", "train/labels/63am/cafe_shop_0/rgb_00001_2.json", '{"3": [1, 2, 3,\n', r"rgb_00001_2\.json:2: not valid JSON"),
    ("mmp", "train/labels/63am/cafe_shop_0/rgb_00000_1.json", '{"a": [1, 2, 3, 4]}', r"rgb_00000_1\.json: person 'a'"),
    ("wildtrack", "annotations_positions/00000005.json", '[{"personID": 1,\n "views": [}]', r"00000005\.json:2: not valid JSON"),
    ("wildtrack", "annotations_positions/00000010.json", '[{"personID": 1}]', r"00000010\.json: person 0"),
])
def test_malformed_rows_and_json_are_named_with_their_line(tmp_path, fmt, bad_file, body, needle):
    src = tmp_path / "src"
    WRITERS[fmt](src)
    text(src / bad_file, body)
    with pytest.raises(ConvertError, match=needle):
        convert(fmt, src, tmp_path / "out")


@pytest.mark.parametrize("fmt, images", [("mvmhat", "1/2/images"), ("divotrack", "images/test/Circle_View2/img1"),
                                         ("wildtrack", "Image_subsets/C2"), ("mmp", "validation/images/64pm/lobby_0")])
def test_a_view_without_images_is_named(tmp_path, fmt, images):
    src = tmp_path / "src"
    WRITERS[fmt](src)
    for p in (src / images).iterdir():
        p.unlink()
    with pytest.raises(ConvertError, match=f"view without images: .* in {src / images}$"):
        convert(fmt, src, tmp_path / "out")


def test_vatic_bad_row_missing_annotation_and_missing_label(tmp_path):
    src = tmp_path / "src"
    video(src / "terrace1-c0.avi")
    with pytest.raises(ConvertError, match=f"annotation file not found: {src / 'terrace1-c0.txt'}"):
        convert("epfl", src, tmp_path / "out")
    text(src / "terrace1-c0.txt", VATIC + '2 1 1 9 9 x 0 0 0 "PERSON"\n')
    with pytest.raises(ConvertError, match=r"terrace1-c0\.txt:5: expected a VATIC row"):
        convert("epfl", src, tmp_path / "out")
    mmp = tmp_path / "mmp"
    write_mmp(mmp)
    (mmp / "train" / "labels" / "63am" / "cafe_shop_0" / "rgb_00002_1.json").unlink()
    with pytest.raises(ConvertError, match=r"label file not found: .*rgb_00002_1\.json"):
        convert("mmp", mmp, tmp_path / "out2")


def test_output_folder_must_be_new_or_empty_and_the_command_line(tmp_path, capsys):
    src, out = tmp_path / "src", tmp_path / "out"
    write_wildtrack(src)
    text(out / "keep.txt", "mine")
    with pytest.raises(ConvertError, match="exists and is not empty"):
        convert("wildtrack", src, out)
    assert (out / "keep.txt").read_text() == "mine"
    convert_main(convert_args(["wildtrack", "--src", str(src), "--out", str(tmp_path / "new"), "--test-fraction=0.5"]))
    assert "python -m datasets.check" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # mvmhat has its own ranges
        convert_args(["mvmhat", "--src", str(src), "--out", str(out), "--test-fraction=0.5"])


# -------------------------------------------------------------- one training step, then tracking
def train_and_track(out, tmp_path, *options) -> Path:
    """One training step on the converted dataset ``out``, then tracking its test frames on the
    ground-truth boxes; returns the folder of the result files."""
    import inference
    import train
    from config import load_config

    cfg = load_config(None, [f"--data.root={out}", f"--train.out_dir={tmp_path / 'run'}", "--model.backbone=resnet10",
                             "--model.weights=none", "--data.crop_height=32", "--data.crop_width=16",
                             "--data.views=2", "--data.num_workers=0", "--data.val_fraction=0",
                             "--train.max_steps=1", "--train.device=cpu", "--train.val_interval=0",
                             "--train.select=train_loss", *options])
    trainer = train.main(cfg)
    assert trainer.step == 1 and (tmp_path / "run" / "last.pt").is_file()
    args, rest = inference.parse_args(["--checkpoint", str(tmp_path / "run" / "last.pt"), "--out",
                                       str(tmp_path / "track"), "--boxes", "gt"])
    inference.main(load_config(None, [f"--data.root={out}", "--data.num_workers=0", "--train.device=cpu", *rest]), args)
    return tmp_path / "track"


def test_one_training_step_and_tracking_on_a_converted_dataset(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    write_divotrack(src)
    convert("divotrack", src, out)
    track = train_and_track(out, tmp_path, "--data.crop_cache=false")
    # the test half (frames 1, 2): view 1 has person 5 on both frames, view 2 no boxes (no gt.txt there)
    assert sorted(p.name for p in track.glob("*.txt")) == ["Circle_1.txt", "Circle_2.txt"]
    assert read_mot(track / "Circle_2.txt").shape[0] == 0


@pytest.mark.parametrize("fmt, write, options, results", [
    ("mmp", write_mmp, (), ["63am_cafe_shop_0_1.txt", "63am_cafe_shop_0_2.txt", "64pm_lobby_0_1.txt",
                            "64pm_lobby_0_2.txt"]),
    # WILDTRACK annotates every 5th frame: a sample's two frames are 5 apart (README)
    ("wildtrack", write_wildtrack, ("--data.frame_gap=5", "--data.sample_stride=5"),
     ["wildtrack_1.txt", "wildtrack_2.txt"])])
def test_other_converted_datasets_train_and_track(tmp_path, fmt, write, options, results):
    src, out = tmp_path / "src", tmp_path / "out"
    write(src)
    convert(fmt, src, out)
    assert sorted(p.name for p in train_and_track(out, tmp_path, *options).glob("*.txt")) == results


def test_one_training_step_and_tracking_on_converted_videos(tmp_path):
    """epfl's views are videos: the crop cache decodes them for training, inference reads them."""
    src, out = tmp_path / "src", tmp_path / "out"
    two_people = "".join(f'0 2 3 12 20 {f} 0 0 0 "PERSON"\n1 16 2 26 22 {f} 0 0 0 "PERSON"\n' for f in range(20))
    for k in (0, 1):
        video(src / f"terrace1-c{k}.avi", frames=20)
        text(src / f"terrace1-c{k}.txt", two_people)
    convert("epfl", src, out)
    assert DatasetLayout(out).frames("terrace1", "test") == [16, 17, 18, 19]
    track = train_and_track(out, tmp_path)
    assert sorted(p.name for p in track.glob("*.txt")) == ["terrace1_1.txt", "terrace1_2.txt"]
    for p in track.glob("*.txt"):  # both people tracked once confirmed, with two ids in all
        result = read_mot(p)
        frames, counts = np.unique(result[:, 0], return_counts=True)
        assert len(frames) >= 2 and set(frames) <= {16, 17, 18, 19} and set(counts) == {2}
        assert len(set(result[:, 1].tolist())) == 2


def test_epfl_annotation_found_twice_is_named(tmp_path):
    src = tmp_path / "src"
    video(src / "terrace1-c0.avi")
    text(src / "a" / "terrace1-c0.txt", VATIC)
    text(src / "b" / "terrace1-c0.txt", VATIC)
    text(src / "a" / "readme.txt", "x")
    text(src / "b" / "readme.txt", "y")  # other duplicates do not matter
    with pytest.raises(ConvertError, match=r"terrace1-c0\.avi: two annotation files named terrace1-c0\.txt"):
        convert("epfl", src, tmp_path / "out")
