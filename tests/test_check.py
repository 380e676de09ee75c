"""``python -m datasets.check``: one tiny dataset per kind of problem, the exit status and the
message it gives; and every converter's fixture output passes it."""
from pathlib import Path

import cv2
import numpy as np
import pytest

from datasets.check import check_dataset, main, parse_args
from datasets.convert import convert
from loader.layout import Manifest, SceneSpec, write_manifest
from loader.mot import write_mot
from tests.test_convert import VATIC, text, video, write_divotrack, write_mmp, write_wildtrack

W, H = 40, 30


def make(root: Path, gt: dict, frames=range(4), splits=None, images=None) -> Path:
    """Scene ``s`` with views ``gt`` (view -> rows ``[frame, id, x, y, w, h]``), a ``W x H`` image
    per frame in ``images[view]`` (default ``frames``), splits train [0, 2), test [2, 4)."""
    for view, rows in gt.items():
        vdir = root / "s" / view
        (vdir / "images").mkdir(parents=True)
        for f in (images or {}).get(view, frames):
            cv2.imwrite(str(vdir / "images" / f"{f}.jpg"), np.zeros((H, W, 3), np.uint8))
        write_mot(vdir / "gt_det" / "gt.txt", np.array([[*r, 1, -1, -1, -1] for r in rows]).reshape(-1, 10))
    splits = splits or {"train": (0, 2), "test": (2, 4)}
    write_manifest(root / "dataset.yaml", Manifest(name="t", scenes={"s": SceneSpec("s", "s", splits)}))
    return root


def clean_rows(view_ids=(1, 2)):
    return [[f, i, 5 + i, 5, 10, 20] for f in range(4) for i in view_ids]


def run(root, *extra, capsys=None):
    rc = main(parse_args([str(root), *extra]))
    return rc, capsys.readouterr().out if capsys else ""


def test_a_clean_dataset_reports_its_contents_and_exits_0(tmp_path, capsys):
    make(tmp_path, {"1": clean_rows(), "2": clean_rows()})
    rc, out = run(tmp_path, capsys=capsys)
    assert rc == 0, out
    assert "scene s (folder s): 2 view(s)" in out
    assert "  view 1: 4 images, frames 0-3, 40x30" in out
    assert "  split train [0, 2): 2 frames, 8 boxes, 2 ids" in out
    assert "  split test [2, 4): 2 frames, 8 boxes, 2 ids" in out
    assert out.endswith("0 error(s), 0 warning(s)\n")


@pytest.mark.parametrize("gt2, needle", [
    # a frame with an image and no box (frame 3 of view 2)
    ([r for r in clean_rows() if r[0] != 3], "view '2': 1 frame(s) with an image but no box (first: 3)"),
    # a box partly outside (x = -4)
    (clean_rows()[:-1] + [[3, 2, -4, 5, 10, 20]], "view '2': 1 box(es) partly outside the image"),
    # id 7 only in view 2 during training
    (clean_rows() + [[0, 7, 1, 1, 5, 5]], "split 'train': 1 id(s) seen in one view only (first: 7)"),
])
def test_warnings_exit_0(tmp_path, capsys, gt2, needle):
    make(tmp_path, {"1": clean_rows(), "2": gt2})
    rc, out = run(tmp_path, capsys=capsys)
    assert rc == 0 and f"warning: scene 's' split " in out, out
    assert needle in out, out
    assert "error:" not in out


def test_boxes_on_frames_without_an_image_warn(tmp_path, capsys):
    make(tmp_path, {"1": clean_rows(), "2": clean_rows()}, images={"1": range(4), "2": range(4)})
    write_mot(tmp_path / "s" / "2" / "gt_det" / "gt.txt",
              np.array([[*r, 1, -1, -1, -1] for r in clean_rows() if r[0] != 1]))
    (tmp_path / "s" / "1" / "images" / "1.jpg").unlink()
    (tmp_path / "s" / "2" / "images" / "1.jpg").unlink()
    rc, out = run(tmp_path, capsys=capsys)
    assert rc == 0, out
    assert "warning: scene 's' split 'train' view '1': boxes on 1 frame(s) without an image (first: 1)" in out
    assert "  split train [0, 2): 1 frames, 6 boxes, 2 ids" in out  # boxes of both views


@pytest.mark.parametrize("case, needle", [
    ("wholly outside", "view '2': 1 box(es) with no pixel inside the 40x30 image (first at frame 2, id 9)"),
    ("missing image", "view '2': 1 frame(s) with an image in another view but not in this one (first: 1)"),
    ("past the end", "split 'test' [2, 9): runs past the last frame 3"),
    ("malformed row", "gt.txt:2: non-numeric x field 'x'"),
    ("no gt file", "MOT file not found:"),
    ("no images", "view without images: no image file in"),
    ("undecodable", "cannot decode the image"),
])
def test_errors_exit_1(tmp_path, capsys, case, needle):
    gt2 = clean_rows() + ([[2, 9, 41, 5, 10, 10]] if case == "wholly outside" else [])
    make(tmp_path, {"1": clean_rows(), "2": gt2},
         splits={"train": (0, 2), "test": (2, 9)} if case == "past the end" else None,
         images={"1": range(4), "2": [0, 2, 3]} if case == "missing image" else None)
    view2 = tmp_path / "s" / "2"
    if case == "malformed row":
        text(view2 / "gt_det" / "gt.txt", "0,1,5,5,10,20\n1,1,x,5,10,20\n")
    elif case == "no gt file":
        (view2 / "gt_det" / "gt.txt").unlink()
    elif case == "no images":
        for p in (view2 / "images").iterdir():
            p.unlink()
    elif case == "undecodable":
        (view2 / "images" / "0.jpg").write_bytes(b"not a jpeg")
    rc, out = run(tmp_path, capsys=capsys)
    assert rc == 1, out
    assert needle in out, out


def test_a_missing_manifest_is_an_error(tmp_path, capsys):
    rc, out = run(tmp_path, capsys=capsys)
    assert rc == 1 and "error: dataset manifest not found" in out


def test_position_ranges(tmp_path):
    # frames 1-4: positions [0, 2) are frames 1, 2; frame numbers [0, 2) only frame 1
    make(tmp_path, {"1": [[f, 1, 5, 5, 10, 20] for f in range(1, 5)]}, frames=range(1, 5),
         splits={"train": (0, 2), "test": (2, 4)})
    assert "  split train [1, 3): 2 frames, 2 boxes, 1 ids" in check_dataset(tmp_path, ranges="positions").lines
    by_frame = check_dataset(tmp_path)
    assert "  split train [0, 2): 1 frames, 1 boxes, 1 ids" in by_frame.lines
    assert "  split test [2, 4): 2 frames, 2 boxes, 1 ids" in by_frame.lines and by_frame.errors == []


# ------------------------------------------------------------------------- converted fixtures pass
@pytest.mark.parametrize("fmt, writer", [("mmp", write_mmp), ("divotrack", write_divotrack),
                                         ("wildtrack", write_wildtrack)])
def test_every_image_converter_output_passes(tmp_path, fmt, writer):
    writer(tmp_path / "src")
    convert(fmt, tmp_path / "src", tmp_path / "out")
    report = check_dataset(tmp_path / "out")
    assert report.errors == [], report.text()
    assert any(line.startswith("  split train") for line in report.lines)


def test_video_converter_outputs_pass(tmp_path):
    for k in (0, 1):
        video(tmp_path / "epfl" / f"terrace1-c{k}.avi")
        text(tmp_path / "epfl" / f"terrace1-c{k}.txt", VATIC)
        video(tmp_path / "campus" / "Garden1" / f"view-HC{k + 1}.mp4")
        text(tmp_path / "campus" / "Garden1" / f"view-HC{k + 1}.txt", VATIC)
    for fmt in ("epfl", "campus"):
        convert(fmt, tmp_path / fmt, tmp_path / f"out_{fmt}")
        report = check_dataset(tmp_path / f"out_{fmt}")
        assert report.errors == [], report.text()
        assert "  view 1: video.{} (5 frames), frames 0-4, 32x24".format("avi" if fmt == "epfl" else "mp4") in report.lines
        # VATIC fixture, per view: frames 0, 2 and 3 hold a box (train), 1 and 4 (test) none
        assert "  split train [0, 4): 4 frames, 6 boxes, 2 ids" in report.lines
        assert "  split test [4, 5): 1 frames, 0 boxes, 0 ids" in report.lines
        assert len(report.warnings) == 4  # frames 1 and 4 have no box, in either view


def test_mvmhat_output_passes_with_the_released_position_ranges(tmp_path):
    # scene 1: 1200 frames numbered from 1 (the released ranges reach position 1200); one image
    # file linked 1200 times per view keeps the fixture small
    src = tmp_path / "src"
    one = tmp_path / "one.jpg"
    cv2.imwrite(str(one), np.zeros((H, W, 3), np.uint8))
    for view in ("1", "2"):
        (src / "1" / view / "images").mkdir(parents=True)
        for f in range(1, 1201):
            (src / "1" / view / "images" / f"{f}.jpg").symlink_to(one)
        text(src / "1" / view / "gt_det" / "gt.txt", "1,1,5,5,10,20\n900,1,5,5,10,20\n")
    convert("mvmhat", src, tmp_path / "out")
    report = check_dataset(tmp_path / "out", ranges="positions")
    assert report.errors == [], report.text()
    assert "  split train [1, 801): 800 frames, 2 boxes, 1 ids" in report.lines
    assert "  split test [801, 1201): 400 frames, 2 boxes, 1 ids" in report.lines


def test_the_two_commands_exit_statuses(tmp_path):
    import subprocess
    import sys

    def cmd(*argv):
        p = subprocess.run([sys.executable, "-m", *map(str, argv)], cwd=Path(__file__).resolve().parents[1],
                           capture_output=True, text=True, timeout=120, env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
        return p.returncode, p.stdout, p.stderr

    write_wildtrack(tmp_path / "src")
    rc, out, err = cmd("datasets.convert", "wildtrack", "--src", tmp_path / "src", "--out", tmp_path / "out")
    assert rc == 0 and "python -m datasets.check" in out, err
    rc, out, _ = cmd("datasets.check", tmp_path / "out")
    assert rc == 0 and "0 error(s)" in out, out
    (tmp_path / "out" / "wildtrack" / "1" / "gt_det" / "gt.txt").write_text("0,1,2\n")
    rc, out, _ = cmd("datasets.check", tmp_path / "out")
    assert rc == 1 and "gt.txt:1: expected at least 6 columns" in out, out
    rc, _, err = cmd("datasets.convert", "mmp", "--src", tmp_path / "none", "--out", tmp_path / "o2")
    assert rc == 2 and err.strip().splitlines()[-1] == f"error: mmp source folder not found: {tmp_path / 'none'}", err
