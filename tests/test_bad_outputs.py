"""Outputs that cannot be written: an error naming the path and saying why (a read-only folder, a
full disk), checked before the work where possible; never a partial file under the final name."""
import errno
import os
import tempfile

import numpy as np
import pytest

import eval as eval_cli
from atomic import atomic_open, atomic_path, check_writable
from errors import OutputError
from loader.mot import write_mot


def disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def leftovers(folder):
    return sorted(p.name for p in folder.rglob("*") if p.name.startswith("."))


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "scenes.csv").write_text("scene,start_frame,end_frame,num_views\n1,1,3,1\n")
    rows = np.array([[f, 1, 0, 0, 10, 10, 1, -1, -1, -1] for f in (1, 2, 3)], dtype=float)
    write_mot(tmp_path / "gt" / "1_1.txt", rows)
    write_mot(tmp_path / "res" / "1_1.txt", rows)
    return tmp_path


def run_eval(folder, json_path):
    return eval_cli.main(eval_cli.parse_args(["--gt", str(folder / "gt"), "--res", str(folder / "res"), "--scenes",
                                              str(folder / "scenes.csv"), "--json", str(json_path)]))


def test_eval_json_under_a_file_fails_before_the_table(folder, capsys):
    (folder / "taken").write_text("a file, not a folder")
    assert run_eval(folder, folder / "taken" / "sub" / "m.json") == 2
    out, err = capsys.readouterr()
    assert err == f"error: cannot write {folder / 'taken' / 'sub' / 'm.json'}: {folder / 'taken'} is not a folder\n"
    assert out == ""  # checked before the evaluation, not after it


def test_eval_json_into_a_read_only_folder(folder, capsys, monkeypatch):
    def read_only(*args, dir=None, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), dir)

    monkeypatch.setattr(tempfile, "mkstemp", read_only)  # (the tests run as root: chmod would not stop it)
    assert run_eval(folder, folder / "out" / "m.json") == 2
    out, err = capsys.readouterr()
    assert err.startswith(f"error: cannot write {folder / 'out' / 'm.json'}: cannot create a file in {folder}: "
                          f"Read-only file system")
    assert out == "" and not (folder / "out").exists()


def test_eval_json_on_a_full_disk(folder, capsys, monkeypatch):
    monkeypatch.setattr(eval_cli.json, "dump", disk_full)
    assert run_eval(folder, folder / "m.json") == 2
    err = capsys.readouterr().err
    assert f"error: cannot write {folder / 'm.json'}: No space left on device (the disk is full)" in err
    assert not (folder / "m.json").exists() and leftovers(folder) == []


def test_atomic_writes_name_the_file_when_the_disk_is_full(tmp_path):
    with pytest.raises(OutputError, match=rf"cannot write {tmp_path / 'a.txt'}: No space left on device \(the disk "
                                          rf"is full\)") as err:
        with atomic_open(tmp_path / "a.txt") as f:
            f.write("partial")
            disk_full()
    assert isinstance(err.value, OSError) and os.listdir(tmp_path) == []
    (tmp_path / "b.bin").write_bytes(b"old")
    with pytest.raises(OutputError, match="b.bin"):
        with atomic_path(tmp_path / "b.bin"):
            disk_full()
    assert (tmp_path / "b.bin").read_bytes() == b"old" and os.listdir(tmp_path) == ["b.bin"]
    with pytest.raises(FileNotFoundError):  # an error that is not the write's keeps its type
        with atomic_path(tmp_path / "c.bin"):
            open(tmp_path / "missing")
    assert os.listdir(tmp_path) == ["b.bin"]


def test_check_writable_creates_nothing(tmp_path):
    check_writable(tmp_path / "new" / "deeper" / "x.json")
    assert os.listdir(tmp_path) == []


class FailingWriter:
    """A stand-in for cv2.VideoWriter on a full disk: ``opens``; ``write`` returns False from frame
    ``fail_at`` on (OpenCV 5's report); ``release`` leaves ``tail`` bytes (no readable video)."""

    opens, fail_at, tail = True, None, b"\0" * 48

    def __init__(self, path, fourcc, fps, size):
        self.path, self.count = path, 0
        with open(path, "wb") as f:
            f.write(b"\0" * 32)

    def isOpened(self):
        return self.opens

    def write(self, frame):
        self.count += 1
        return self.fail_at is None or self.count < self.fail_at

    def release(self):
        with open(self.path, "ab") as f:
            f.write(self.tail)


@pytest.fixture
def scene(tmp_path):
    from datasets.toy import write_toy_dataset
    from loader.layout import DatasetLayout

    layout = DatasetLayout(write_toy_dataset(tmp_path / "data", views=("1", "2"), frames=range(10)))
    return layout, {v: np.zeros((0, 10)) for v in layout.views("1")}


def render(scene, out):
    from pipeline.render import render_scene

    layout, rows = scene
    return render_scene(layout, "1", [6, 7, 8, 9], rows, out, png_frames=1, progress=False)


def test_rendered_videos_hold_every_frame(scene, tmp_path):
    from loader.frames import video_frames

    written = render(scene, tmp_path / "render")
    videos = [p for p in written if p.suffix == ".mp4"]
    assert len(videos) == 3 and all(video_frames(p) == 4 for p in videos)


@pytest.mark.parametrize("opens, fail_at, message", [
    (False, None, "OpenCV cannot open an mp4v writer"),
    (True, 3, "frame 3 was not written (disk full?)"),
    (True, None, "the finished file holds 0 of 4 frames (disk full?)"),  # write() said yes, the file is junk
])
def test_render_on_a_full_disk(scene, tmp_path, monkeypatch, opens, fail_at, message):
    import pipeline.render

    monkeypatch.setattr(FailingWriter, "opens", opens)
    monkeypatch.setattr(FailingWriter, "fail_at", fail_at)
    monkeypatch.setattr(pipeline.render.cv2, "VideoWriter", FailingWriter)
    out = tmp_path / "render"
    with pytest.raises(OutputError) as err:
        render(scene, out)
    assert str(err.value).startswith(f"cannot write video {out / '1_1.mp4'}: ") and message in str(err.value)
    assert not list(out.glob("*.mp4")) and leftovers(out) == []  # no partial video, none under the final name
