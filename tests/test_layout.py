from pathlib import Path

import pytest

from datasets.toy import write_toy_dataset
from loader.layout import DatasetError, DatasetLayout, frame_number, load_manifest, natural_key, parse_manifest

REPO = Path(__file__).resolve().parents[1]


def test_views_ordered_numerically_not_by_listdir(tmp_path):
    write_toy_dataset(tmp_path, views=("10", "2", "1", "View3"), frames=range(3), train=(0, 2), test=(2, 3))
    assert DatasetLayout(tmp_path).views("1") == ["1", "2", "10", "View3"]
    assert sorted(["View10", "View2", "View1"], key=natural_key) == ["View1", "View2", "View10"]


def test_manifest_views_list_is_kept_in_order(tmp_path):
    write_toy_dataset(tmp_path, views=("1", "2", "3"), frames=range(3), train=(0, 2), test=(2, 3))
    m = parse_manifest({"scenes": {"1": {"train": [0, 2], "test": [2, 3], "views": ["3", "1"]}}})
    assert DatasetLayout(tmp_path, m).views("1") == ["3", "1"]


def test_frame_ranges_are_half_open(tmp_path):
    write_toy_dataset(tmp_path, frames=range(0, 10), train=(2, 6), test=(6, 10))
    layout = DatasetLayout(tmp_path)
    assert layout.frames("1", "train") == [2, 3, 4, 5]
    assert layout.frames("1", "test") == [6, 7, 8, 9]
    assert set(layout.read_boxes("1", "1", "gt", split="train")[:, 0]) == {2, 3, 4, 5}


def test_position_ranges_slice_the_sorted_images_as_released(tmp_path):
    # frames numbered from 1, as MvMHAT's scenes 1-6: positions [0, 4) are frames 1-4, frame
    # numbers [0, 4) only 1-3 (the released loader slices positions: one frame per range lost)
    write_toy_dataset(tmp_path, frames=range(1, 11), train=(0, 4), test=(4, 12))
    by_frame, by_position = DatasetLayout(tmp_path), DatasetLayout(tmp_path, ranges="positions")
    assert by_frame.frames("1", "train") == [1, 2, 3]
    assert by_position.frames("1", "train") == [1, 2, 3, 4]
    assert by_position.split_range("1", "train") == (1, 5)
    assert set(by_position.read_boxes("1", "2", "gt", split="train")[:, 0]) == {1, 2, 3, 4}
    assert by_position.frames("1", "test") == [5, 6, 7, 8, 9, 10]  # [4, 12) stops at the last image
    m = parse_manifest({"scenes": {"1": {"train": [0, 4], "test": [10, 12]}}})
    with pytest.raises(DatasetError, match=r"positions \[10, 12\) select no image; the scene has 10 frames"):
        DatasetLayout(tmp_path, m, ranges="positions").frames("1", "test")
    with pytest.raises(ValueError, match="ranges='numbers'"):
        DatasetLayout(tmp_path, ranges="numbers")


def test_frame_number_from_file_name():
    assert frame_number("000123.jpg") == 123 and frame_number("7.jpg") == 7 and frame_number("img_0042.png") == 42
    with pytest.raises(DatasetError):
        frame_number("cover.jpg")


def test_shipped_mvmhat_ranges():
    m = load_manifest(REPO / "configs" / "datasets" / "mvmhat.yaml")
    expected = {"1": (0, 800, 1200), "2": (0, 800, 1200), "3": (0, 1000, 1500), "4": (0, 800, 1200),
                "5": (0, 1000, 1500), "6": (0, 1000, 1500), "7": (0, 2000, 2500), "8": (1000, 3000, 4000),
                "9": (2000, 4000, 5000), "10": (3000, 5000, 6000), "12": (500, 1500, 2000),
                "13": (500, 1500, 2000), "14": (1000, 3000, 4000)}
    assert list(m.scenes) == list(expected)
    for name, (a, b, c) in expected.items():
        assert m.scenes[name].splits == {"train": (a, b), "test": (b, c)}
    assert [m.scenes[s].dir for s in ("12", "13", "14")] == ["11", "12", "13"]  # the release loader's names


@pytest.mark.parametrize("data, message", [
    ({}, "non-empty 'scenes'"),
    ({"scenes": {"1": {"train": [0, 5]}}}, "missing the 'test' frame range"),
    ({"scenes": {"1": {"train": [5, 5], "test": [5, 9]}}}, "0 <= start < end"),
    ({"scenes": {"1": {"train": [0, 5.5], "test": [5, 9]}}}, "two integers"),
    ({"scenes": {"1": {"train": [0, 5], "test": [5, 9], "views": []}}}, "'views' must be"),
    ({"scenes": {"1": {"train": [0, 5], "test": [5, 9]}}, "extra": 1}, "unknown top-level"),
])
def test_bad_manifest_names_scene_and_problem(data, message):
    with pytest.raises(DatasetError, match=message.replace("(", r"\(").replace("[", r"\[")):
        parse_manifest(data, source="m.yaml")


def test_extra_named_split(tmp_path):
    m = parse_manifest({"scenes": {"1": {"train": [0, 5], "val": [5, 7], "test": [7, 9]}}})
    assert m.scenes["1"].splits["val"] == (5, 7)


def test_missing_paths_are_named(tmp_path):
    write_toy_dataset(tmp_path, views=("1", "2"), frames=range(4), train=(0, 2), test=(2, 4))
    layout = DatasetLayout(tmp_path)
    (tmp_path / "1" / "2" / "images" / "1.jpg").unlink()
    with pytest.raises(FileNotFoundError, match=r"missing in .*1/2/images, first: frame 1"):
        layout.frames("1", "train")
    with pytest.raises(FileNotFoundError, match=r"image of frame 9 not found in .*1/1/images"):
        layout.image_path("1", "1", 9)
    (tmp_path / "1" / "1" / "gt_det" / "gt.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"1/1/gt_det/gt.txt"):
        layout.read_boxes("1", "1", "gt")
    m = parse_manifest({"scenes": {"1": {"train": [0, 2], "test": [2, 4], "views": ["1", "5"]}}})
    with pytest.raises(FileNotFoundError, match=r"view folder not found: .*1/5"):
        DatasetLayout(tmp_path, m).views("1")
    m = parse_manifest({"scenes": {"9": {"train": [0, 2], "test": [2, 4]}}})
    with pytest.raises(FileNotFoundError, match="scene folder not found"):
        DatasetLayout(tmp_path, m).views("9")
    with pytest.raises(FileNotFoundError, match="dataset manifest not found"):
        DatasetLayout(tmp_path / "1")


def test_empty_split_is_an_error(tmp_path):
    write_toy_dataset(tmp_path, frames=range(4), train=(0, 4), test=(10, 12))
    with pytest.raises(DatasetError, match=r"split 'test' \[10, 12\) has no images"):
        DatasetLayout(tmp_path).frames("1", "test")


def test_duplicate_frame_images_are_an_error(tmp_path):
    write_toy_dataset(tmp_path, frames=range(3), train=(0, 2), test=(2, 3))
    src = tmp_path / "1" / "1" / "images" / "1.jpg"
    (src.parent / "0001.jpg").write_bytes(src.read_bytes())
    with pytest.raises(DatasetError, match="two images for frame 1"):
        DatasetLayout(tmp_path).frames("1", "train")


def test_result_name_uses_view_position(tmp_path):
    write_toy_dataset(tmp_path, views=("View1", "View2"), frames=range(3), train=(0, 2), test=(2, 3))
    assert DatasetLayout(tmp_path).result_name("1", "View2") == "1_2.txt"


def test_holdout_split_cuts_the_end_of_each_train_range():
    from loader.layout import holdout_split
    m = parse_manifest({"scenes": {"1": {"train": [0, 100], "test": [100, 150]},
                                   "2": {"train": [10, 20], "test": [20, 30]}}})
    h = holdout_split(m, "train", 0.1)
    assert h.scenes["1"].splits["fit"] == (0, 90) and h.scenes["1"].splits["val"] == (90, 100)
    assert h.scenes["2"].splits["fit"] == (10, 19) and h.scenes["2"].splits["val"] == (19, 20)
    assert h.scenes["1"].splits["test"] == (100, 150)
    with pytest.raises(DatasetError, match="too short"):
        holdout_split(parse_manifest({"scenes": {"1": {"train": [0, 1], "test": [1, 2]}}}), "train", 0.5)
