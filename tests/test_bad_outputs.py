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
