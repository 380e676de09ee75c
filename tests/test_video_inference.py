"""``inference.py --videos`` end to end on short synthetic mp4 videos: with given detections and
with the built-in detector (random weights: files and formats are checked, not quality); and the
features written for other trackers."""
import json
import shutil

import numpy as np
import pytest
import torch

import inference
from config import load_config
from datasets.synthetic.generate import generate_dataset
from loader.mot import read_mot, write_mot
from pipeline.detect import PERSON, DetectorWeightsError, cached_weights_path, make_detector
from loader.frames import video_frames

MODEL = ["--model.backbone=resnet18", "--model.head=linear", "--model.embed_dim=16",
         "--data.crop_height=32", "--data.crop_width=16", "--data.num_workers=0"]
FRAMES = 8


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Two synchronised videos ``cam1.mp4``, ``cam2.mp4`` and their detections ``dets/cam<k>.txt``."""
    base = tmp_path_factory.mktemp("videos")
    generate_dataset(base / "data", scenes=1, views=2, frames=FRAMES, people=(3, 3), size=(160, 96), seed=2,
                     video=True, progress=False)
    (base / "dets").mkdir()
    for v in ("1", "2"):
        shutil.copy(base / "data" / "1" / v / "video.mp4", base / f"cam{v}.mp4")
        shutil.copy(base / "data" / "1" / v / "gt_det" / "det.txt", base / "dets" / f"cam{v}.txt")
    return base


def run(base, out, *extra, overrides=()):
    args, rest = inference.parse_args(["--checkpoint", "none", "--out", str(out), "--videos",
                                       str(base / "cam1.mp4"), str(base / "cam2.mp4"), *extra])
    return inference.main(load_config(None, [*MODEL, *rest, *overrides]), args)


def test_given_detections_give_per_view_results_a_mosaic_and_features(inputs, tmp_path):
    out = tmp_path / "out"
    info = run(inputs, out, "--detections", str(inputs / "dets"), "--render", "--export-features")
    assert info["results"] == ["videos_1.txt", "videos_2.txt"] and info["boxes"] == "det"
    dets = {v: read_mot(inputs / "dets" / f"cam{v}.txt") for v in ("1", "2")}
    for v in ("1", "2"):
        assert (out / "data" / "videos" / v / "video.mp4").resolve() == (inputs / f"cam{v}.mp4").resolve()
        np.testing.assert_array_equal(read_mot(out / "data" / "videos" / v / "gt_det" / "det.txt"), dets[v])
        rows = read_mot(out / f"videos_{v}.txt")
        assert len(rows) and set(rows[:, 0].astype(int)) <= set(range(FRAMES))
        pairs = rows[:, :2].astype(int)
        assert len(np.unique(pairs, axis=0)) == len(pairs)  # an id at most once per frame and view
    assert video_frames(out / "render" / "videos_mosaic.mp4") == FRAMES
    assert video_frames(out / "render" / "videos_2.mp4") == FRAMES
    # every detection with its frame, view, box, confidence and feature
    with np.load(out / "features" / "videos.npz") as npz:
        cols = {k: npz[k] for k in ("features", "frame", "view", "tlwh", "conf")}
    n = sum(len(d) for d in dets.values())
    assert cols["features"].shape == (n, 16) and list(np.unique(cols["view"])) == ["1", "2"]
    for v in ("1", "2"):
        sel = cols["view"] == v
        got = np.column_stack([cols["frame"][sel], cols["tlwh"][sel], cols["conf"][sel]])
        want = dets[v][:, [0, 2, 3, 4, 5, 6]]
        np.testing.assert_array_equal(got[np.lexsort(got.T[::-1])], want[np.lexsort(want.T[::-1])])
    # ... and as DIVOTrack's multi-view tracker reads them
    divo = np.load(out / "features" / "divotrack.npy", allow_pickle=True).item()
    assert list(divo) == ["videos"] and list(divo["videos"]) == ["1", "2"]
    for v, rows in divo["videos"].items():
        sel = np.flatnonzero(cols["view"] == v)
        assert rows.shape == (len(sel), 10 + 16) and (np.diff(rows[:, 0]) >= 0).all()
        assert (rows[:, 1] == -1).all() and (rows[:, 7:10] == 0).all()
        for row in rows:  # each row is one detection: its box, confidence and feature
            i = sel[(cols["frame"][sel] == row[0]) & (cols["tlwh"][sel] == row[2:6]).all(axis=1)]
            assert len(i) == 1
            assert row[6] == cols["conf"][i[0]]
            np.testing.assert_array_equal(row[10:], cols["features"][i[0]])
    assert json.loads((out / "run.json").read_text())["divotrack_features"] == "features/divotrack.npy"


def test_first_frame_numbers_the_frames(inputs, tmp_path):
    dets = tmp_path / "dets"
    dets.mkdir()
    for v in ("1", "2"):  # the same detections, numbered from 1 as MvMHAT numbers its frames
        rows = read_mot(inputs / "dets" / f"cam{v}.txt")
        rows[:, 0] += 1
        write_mot(dets / f"cam{v}.txt", rows)
    run(inputs, tmp_path / "out", "--detections", str(dets), "--first-frame", "1")
    frames = set(read_mot(tmp_path / "out" / "videos_1.txt")[:, 0].astype(int))
    assert frames <= set(range(1, FRAMES + 1)) and FRAMES in frames


def test_a_rerun_with_fewer_videos_tracks_only_those(inputs, tmp_path):
    out = tmp_path / "out"
    run(inputs, out, "--detections", str(inputs / "dets"))
    args, rest = inference.parse_args(["--checkpoint", "none", "--out", str(out), "--videos",
                                       str(inputs / "cam2.mp4"), "--detections", str(inputs / "dets")])
    info = inference.main(load_config(None, [*MODEL, *rest]), args)
    assert info["results"] == ["videos_1.txt"]
    np.testing.assert_array_equal(read_mot(out / "data" / "videos" / "1" / "gt_det" / "det.txt"),
                                  read_mot(inputs / "dets" / "cam2.txt"))


def test_missing_detection_file_is_named(inputs, tmp_path):
    (tmp_path / "dets").mkdir()
    shutil.copy(inputs / "dets" / "cam1.txt", tmp_path / "dets" / "cam1.txt")
    with pytest.raises(FileNotFoundError, match=r"detections of .*cam2.mp4 not found: expected .*dets/cam2.txt"):
        run(inputs, tmp_path / "out", "--detections", str(tmp_path / "dets"))


def test_options_that_do_not_apply_to_videos_are_refused(inputs, tmp_path):
    with pytest.raises(SystemExit):
        inference.parse_args(["--checkpoint", "none", "--out", "o", "--videos", "a.mp4", "--scene", "1"])
    with pytest.raises(SystemExit):
        inference.parse_args(["--checkpoint", "none", "--out", "o", "--videos", "a.mp4", "--split", "train"])
    with pytest.raises(SystemExit):
        inference.parse_args(["--checkpoint", "none", "--out", "o", "--detections", "d"])
    (tmp_path / "b").mkdir()
    shutil.copy(inputs / "cam1.mp4", tmp_path / "b" / "cam1.mp4")
    args, rest = inference.parse_args(["--checkpoint", "none", "--out", str(tmp_path / "o"), "--videos",
                                       str(inputs / "cam1.mp4"), str(tmp_path / "b" / "cam1.mp4"),
                                       "--detections", str(inputs / "dets")])
    with pytest.raises(ValueError, match=r"two videos share a name \(cam1, cam1\)"):
        inference.main(load_config(None, [*MODEL, *rest]), args)


@pytest.fixture
def detector_cache(tmp_path, monkeypatch):
    """A torch cache holding SSDLite weights: random, except that its coarsest head says
    "person" (so that random weights find a few arbitrary people per frame)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "hub"))
    torch.manual_seed(0)
    model = make_detector("ssdlite320_mobilenet_v3_large")
    with torch.no_grad():
        model.head.classification_head.module_list[-1][-1].bias.view(-1, 91)[:, PERSON] = 20.0
    path = cached_weights_path("ssdlite320_mobilenet_v3_large")
    path.parent.mkdir(parents=True)
    torch.save(model.state_dict(), path)
    return path


def test_builtin_detector_writes_det_txt_once(inputs, tmp_path, detector_cache, monkeypatch):
    out = tmp_path / "out"
    detector = ["--detector", "ssdlite320_mobilenet_v3_large", "--detector-batch", "3"]
    info = run(inputs, out, *detector)
    assert info["results"] == ["videos_1.txt", "videos_2.txt"]
    written = {}
    for v in ("1", "2"):
        det = out / "data" / "videos" / v / "gt_det" / "det.txt"
        rows = read_mot(det)
        assert rows.shape[1] == 10 and len(rows) >= FRAMES
        assert set(rows[:, 0].astype(int)) == set(range(FRAMES)) and (rows[:, 1] == -1).all()
        assert (rows[:, 6] >= 0.5).all() and (rows[:, 4] > 0).all() and (rows[:, 5] > 0).all()
        assert (rows[:, 2] + rows[:, 4] <= 160.01).all() and (rows[:, 3] + rows[:, 5] <= 96.01).all()
        record = json.loads((det.parent / "det.json").read_text())
        assert record["detector"] == "ssdlite320_mobilenet_v3_large" and record["frames"] == [0, FRAMES]
        written[v] = det.read_text()
        assert len(read_mot(out / f"videos_{v}.txt"))
    # a rerun with the same inputs reads det.txt: the detector is not even loaded
    monkeypatch.setattr("pipeline.videos.load_detector", lambda *a, **k: pytest.fail("detector loaded again"))
    run(inputs, out, *detector)
    assert {v: (out / "data" / "videos" / v / "gt_det" / "det.txt").read_text() for v in ("1", "2")} == written
    # another score threshold is another detection run
    with pytest.raises(pytest.fail.Exception, match="detector loaded again"):
        run(inputs, out, *detector, "--detector-score", "0.9")


def test_builtin_detector_without_weights_says_where_to_put_them(inputs, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    with pytest.raises(DetectorWeightsError, match=r"not in the local cache \(nothing is downloaded\): put "
                                                   r"fasterrcnn_resnet50_fpn_v2\S*\.pth .* at .*empty/hub/checkpoints"):
        run(inputs, tmp_path / "out")
