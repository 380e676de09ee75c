"""Entry scripts on a known error: one line ``error: ...`` on stderr, exit status 2, nothing
written; a bug keeps its traceback."""
import subprocess
import sys
from pathlib import Path

import pytest

from config import ConfigError
from datasets.toy import write_toy_dataset
from engine.checkpoint import CheckpointError
from errors import KnownError, UnknownNameError, run_main
from loader.layout import DatasetError
from loader.mot import MotFormatError
from metrics.inputs import MissingFilesError, ScenesFileError
from models.embedding import WeightsError
from pipeline.extract import FeatureCacheError

REPO = Path(__file__).resolve().parents[1]


def script(*argv, cwd=REPO, env=None):
    proc = subprocess.run([sys.executable, *map(str, argv)], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin", **(env or {})})
    return proc.returncode, proc.stderr


def assert_one_line_error(rc, stderr, *needles):
    lines = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert rc == 2, stderr
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def test_every_known_error_class_derives_from_known_error():
    for cls in (ConfigError, DatasetError, MotFormatError, ScenesFileError, MissingFilesError, CheckpointError,
                WeightsError, FeatureCacheError, UnknownNameError):
        assert issubclass(cls, KnownError), cls
    # they stay what callers caught before
    assert issubclass(CheckpointError, RuntimeError) and issubclass(UnknownNameError, KeyError)
    assert str(UnknownNameError("scene '9' is not in x")) == "scene '9' is not in x"  # no KeyError quotes


def test_run_main_reports_known_errors_and_lets_bugs_through(capsys):
    def known():
        raise DatasetError("data/x.txt: something wrong")

    def missing():
        raise FileNotFoundError("image folder not found: data/1/2/images")

    def bug():
        raise ZeroDivisionError("a bug")

    assert run_main(known) == 2 and capsys.readouterr().err == "error: data/x.txt: something wrong\n"
    assert run_main(missing) == 2 and "error: image folder not found" in capsys.readouterr().err
    assert run_main(lambda: None) == 0
    with pytest.raises(ZeroDivisionError):
        run_main(bug)


def test_train_py_config_error(tmp_path):
    out = tmp_path / "run"
    rc, err = script("train.py", "--train.max_steps=-3", f"--train.out_dir={out}")
    assert_one_line_error(rc, err, "train.max_steps: -3 is out of range; allowed: >= 0")
    assert not out.exists()


def test_inference_py_checkpoint_error(tmp_path):
    root = write_toy_dataset(tmp_path / "data")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    rc, err = script("inference.py", "--checkpoint", tmp_path / "junk.pt", "--out", tmp_path / "out",
                     f"--data.root={root}", "--train.device=cpu")
    assert_one_line_error(rc, err, "cannot read checkpoint", str(tmp_path / "junk.pt"))
    assert not (tmp_path / "out").exists()


def test_inference_py_videos_without_detector_weights(tmp_path):
    """The built-in detector's missing weights: one line saying which file to put where, no download."""
    import cv2
    import numpy as np

    writer = cv2.VideoWriter(str(tmp_path / "cam1.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10, (32, 24))
    for i in range(3):
        writer.write(np.full((24, 32, 3), 50 * i, np.uint8))
    writer.release()
    rc, err = script("inference.py", "--videos", tmp_path / "cam1.mp4", "--checkpoint", tmp_path / "none.pt",
                     "--out", tmp_path / "out", "--train.device=cpu", env={"TORCH_HOME": str(tmp_path / "hub")})
    assert_one_line_error(rc, err, "not in the local cache (nothing is downloaded)",
                          str(tmp_path / "hub" / "hub" / "checkpoints"), "--detections DIR")


def test_eval_py_mot_error(tmp_path):
    (tmp_path / "scenes.csv").write_text("scene,start_frame,end_frame,num_views\n1,1,2,1\n")
    (tmp_path / "gt").mkdir()
    (tmp_path / "res").mkdir()
    (tmp_path / "gt" / "1_1.txt").write_text("1,1,0,0,10,10,1,-1,-1,-1\n")
    (tmp_path / "res" / "1_1.txt").write_text("1,1,0,0,10,10,1,-1,-1,-1\n1,2,0,0\n")
    rc, err = script("eval.py", "--gt", tmp_path / "gt", "--res", tmp_path / "res", "--scenes",
                     tmp_path / "scenes.csv", "--json", tmp_path / "out.json")
    assert_one_line_error(rc, err, f"{tmp_path / 'res' / '1_1.txt'}:2:")
    assert not (tmp_path / "out.json").exists()
