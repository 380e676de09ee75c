"""The synthetic dataset generator: layout, determinism, geometry, visibility, detector."""
from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from datasets.synthetic.background import render_background, sample_style
from datasets.synthetic.camera import make_camera, read_calibration
from datasets.synthetic.detector import DetectorNoise, simulate_detections
from datasets.synthetic.figure import build_figures, pose
from datasets.synthetic.looks import Appearance, sample_appearances
from datasets.synthetic.motion import camera_path
from datasets.synthetic.moving_background import MovingBackground
from datasets.synthetic.render import ViewRenderer
from datasets.synthetic.scene import Scene, make_scene, write_view
from datasets.synthetic.world import World, make_world
from datasets.synthetic.generate import ensure_dataset, generate_dataset, parse_args
from loader.layout import DatasetLayout
from loader.mot import parse_mot_lines, read_mot

SMALL = dict(scenes=2, views=3, frames=12, people=(4, 7), size=(160, 96), seed=3)
MOVING = dict(scenes=1, views=3, frames=40, people=(5, 7), size=(160, 96), seed=4, camera_motion=1.0)


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synthetic")
    generate_dataset(root, progress=False, **SMALL)
    return root


@pytest.fixture(scope="module")
def moving(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("moving")
    generate_dataset(root, progress=False, **MOVING)
    return root


def _digest(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


# A tiny static-camera dataset and the values it was written with (tests/synthetic_golden.json,
# recorded with record_golden()). Across CPU kinds the generator's floats differ in their last bits
# (~1e-15 relative: trigonometry and BLAS round differently), so its files are compared as numbers:
# a written value may differ by one step of its last written digit where the exact value sits on a
# rounding boundary (rare). Box corners are written with 2 decimals (a 1e-3 px tolerance would be
# exact equality of the text), visibility and detector scores with 3, calibration with 9; frames,
# ids, row counts, file names and the manifest are exact.
GOLDEN = Path(__file__).with_name("synthetic_golden.json")
GOLDEN_ARGS = dict(scenes=1, views=2, frames=5, people=(3, 4), size=(96, 64), seed=11)
CORNER_TOL, FRACTION_TOL, CALIBRATION_TOL = 0.01 + 1e-9, 0.001 + 1e-9, 1e-9 + 1e-12


def _golden_tables(root: Path) -> dict:
    """What the golden file holds: file names, manifest text, every view's GT and det rows as
    written (text lines), every camera's K, R, t."""
    cams = read_calibration(root / "1" / "calibration.json")
    return {"files": sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()),
            "manifest": (root / "dataset.yaml").read_text(),
            **{kind: {v: (root / "1" / v / "gt_det" / f"{kind}.txt").read_text().splitlines() for v in cams}
               for kind in ("gt", "det")},
            "cameras": {v: {"K": c.K.tolist(), "R": c.R.tolist(), "t": c.t.tolist()} for v, c in cams.items()}}


def record_golden() -> None:
    """Re-record tests/synthetic_golden.json (after an intended change of the generator's output):
    python -c "import sys; sys.path[:0] = ['.', 'tests']; import test_synthetic; test_synthetic.record_golden()"
    """
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        generate_dataset(Path(tmp), progress=False, **GOLDEN_ARGS)
        GOLDEN.write_text(json.dumps(_golden_tables(Path(tmp)), indent=1) + "\n")


def _corners(rows: np.ndarray) -> np.ndarray:
    """(N, 4) written box corners x0, y0, x1, y1 (the generator rounds corners, not sizes)."""
    return np.concatenate([rows[:, 2:4], rows[:, 2:4] + rows[:, 4:6]], axis=1)


def test_static_cameras_same_bytes_by_default_and_at_zero_motion(tmp_path):
    """camera_motion=0.0 and the default write the same bytes (same machine, same run)."""
    generate_dataset(tmp_path / "default", progress=False, **GOLDEN_ARGS)
    generate_dataset(tmp_path / "zero", camera_motion=0.0, progress=False, **GOLDEN_ARGS)
    assert _digest(tmp_path / "zero") == _digest(tmp_path / "default")


def test_tiny_dataset_matches_the_recorded_values(tmp_path):
    """The files of before moving cameras existed (calibration since rounded to 9 decimals), within
    one step of the last written digit."""
    generate_dataset(tmp_path, progress=False, **GOLDEN_ARGS)
    got, want = _golden_tables(tmp_path), json.loads(GOLDEN.read_text())
    assert got["files"] == want["files"] and got["manifest"] == want["manifest"]
    for kind, fraction_col in (("gt", 8), ("det", 6)):  # visibility, detector score
        assert got[kind].keys() == want[kind].keys()
        for view in want[kind]:
            a, b = parse_mot_lines(got[kind][view]), parse_mot_lines(want[kind][view])
            assert a.shape == b.shape, (kind, view)
            exact = [c for c in range(a.shape[1]) if c not in (2, 3, 4, 5, fraction_col)]
            assert np.array_equal(a[:, exact], b[:, exact]), (kind, view)  # frames, ids, constant columns
            assert np.abs(_corners(a) - _corners(b)).max() <= CORNER_TOL, (kind, view)
            assert np.abs(a[:, fraction_col] - b[:, fraction_col]).max() <= FRACTION_TOL, (kind, view)
    assert got["cameras"].keys() == want["cameras"].keys()
    for view, cam in want["cameras"].items():
        for key, value in cam.items():
            assert np.allclose(got["cameras"][view][key], value, rtol=0, atol=CALIBRATION_TOL), (view, key)


def test_layout_and_manifest_readable(small):
    layout = DatasetLayout(small)
    assert layout.scenes == ["1", "2"]
    for scene in layout.scenes:
        assert layout.views(scene) == ["1", "2", "3"]
        assert layout.frames(scene, "train") == list(range(0, 8))  # round(0.7 * 12) = 8
        assert layout.frames(scene, "test") == list(range(8, 12))
        img = cv2.imread(str(layout.image_path(scene, "2", 11)))
        assert img.shape == (96, 160, 3)
        assert len(layout.read_boxes(scene, "1", "gt")) > 0 and len(layout.read_boxes(scene, "1", "det")) > 0
        assert set(read_calibration(small / scene / "calibration.json")) == {"1", "2", "3"}
        assert cv2.imread(str(small / scene / "preview.png")).shape == (96, 3 * 160, 3)


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    args = dict(scenes=1, views=2, frames=6, people=(3, 4), size=(96, 64), progress=False)
    generate_dataset(tmp_path / "a", seed=7, **args)
    generate_dataset(tmp_path / "b", seed=7, **args)
    generate_dataset(tmp_path / "c", seed=8, **args)
    a, b, c = (_digest(tmp_path / k) for k in "abc")
    assert a == b and len(a) == 2 * (6 + 2) + 4  # images, gt, det per view; calibration, preview, manifest, settings
    assert a.keys() == c.keys()
    differ = [k for k in a if a[k] != c[k]]
    assert "1/1/images/0.jpg" in differ and "1/1/gt_det/gt.txt" in differ


def test_worker_processes_do_not_change_output(tmp_path):
    args = dict(scenes=2, views=1, frames=3, people=(2, 3), size=(64, 48), seed=5, progress=False)
    generate_dataset(tmp_path / "one", workers=1, **args)
    generate_dataset(tmp_path / "two", workers=2, **args)
    assert _digest(tmp_path / "one") == _digest(tmp_path / "two")


def _feet_in_boxes(root: Path, args: dict, rest_pose: bool = False) -> tuple:
    """Share of GT boxes that contain the projection of their own id's feet, and of another id's.

    Uses the world model and ``calibration.json`` (each frame's pose, or the rest pose when
    ``rest_pose``); also returns ``{(scene, frame, id): views seeing it}``.
    """
    own, other, seen_in = [], [], {}
    for s in range(args["scenes"]):
        scene = str(s + 1)
        world = make_scene(args["seed"], s, args["views"], args["frames"], args["people"], args["size"]).world
        n_people = world.xy.shape[1]
        for view, cam in read_calibration(root / scene / "calibration.json").items():
            gt = read_mot(root / scene / view / "gt_det" / "gt.txt")
            for frame in np.unique(gt[:, 0]).astype(int):
                rows = gt[gt[:, 0] == frame]
                k = rows[:, 1].astype(int) - 1
                pose = cam if rest_pose else cam.at(frame)
                for ids, out in ((k, own), ((k + 1) % n_people, other)):  # own id, then someone else's
                    feet = np.concatenate([world.xy[frame, ids], np.zeros((len(rows), 1))], axis=1)
                    uv, depth = pose.project(np.nan_to_num(feet, nan=1e3))
                    uv = np.clip(uv, 0, args["size"])  # feet below the image: the box ends at its border
                    x, y, w, h = rows[:, 2:6].T
                    out.extend(((depth > 0) & (uv[:, 0] > x - 1) & (uv[:, 0] < x + w + 1)
                                & (uv[:, 1] > y - 1) & (uv[:, 1] < y + h + 2)).tolist())
                for pid in k:
                    seen_in.setdefault((scene, frame, pid), set()).add(view)
    return np.mean(own), np.mean(other), seen_in


def test_ids_are_the_same_world_person_in_every_view(small):
    """Every GT box contains the projection of its id's feet (world model + calibration.json)."""
    own, other, seen_in = _feet_in_boxes(small, SMALL)
    assert own == 1.0  # every box on its person
    assert other < 0.3  # the check tells people apart
    assert max(len(v) for v in seen_in.values()) >= 2  # the views overlap


def test_moving_cameras_ids_match_the_per_frame_extrinsics(moving):
    own, other, seen_in = _feet_in_boxes(moving, MOVING)
    assert own == 1.0 and other < 0.3
    assert max(len(v) for v in seen_in.values()) >= 2
    assert _feet_in_boxes(moving, MOVING, rest_pose=True)[0] < 0.9  # the rest pose alone is not enough


def test_moving_cameras_store_per_frame_extrinsics(moving):
    calib = json.loads((moving / "1" / "calibration.json").read_text())
    assert calib["camera_motion"] == 1.0 and "extrinsics" in calib
    cams = read_calibration(moving / "1" / "calibration.json")
    yaws = []
    for view, cam in cams.items():
        assert cam.moving and cam.path_R.shape == (40, 3, 3) and cam.path_t.shape == (40, 3)
        assert len(calib["cameras"][view]["frames"]) == 40
        assert np.allclose(cam.path_R @ np.swapaxes(cam.path_R, 1, 2), np.eye(3))  # rotations
        assert not np.allclose(cam.at(0).R, cam.at(39).R) and not np.allclose(cam.at(0).t, cam.at(39).t)
        step = np.degrees(np.arccos(np.clip((np.trace(cam.path_R[1:] @ np.swapaxes(cam.path_R[:-1], 1, 2),
                                                       axis1=1, axis2=2) - 1) / 2, -1, 1)))
        assert step.max() < 15 and np.median(step) > 0.05  # moves every frame, smoothly
        yaws.append(step)
        centres = np.stack([cam.at(t).centre for t in range(40)])
        assert np.linalg.norm(centres - cam.centre, axis=1).max() < 2.0  # stays roughly in place
        rest_ahead = cam.centre + 20 * cam.R[2]  # the rest pose's image centre stays in the image
        uv, depth = zip(*(cam.at(t).project(rest_ahead) for t in range(40)))
        assert (np.array(depth) > 0).all() and (np.abs(np.array(uv) - [80, 48]) < [80, 48]).all()
    assert not np.allclose(yaws[0], yaws[1])  # each camera moves on its own


def test_static_cameras_keep_one_pose(small):
    calib = json.loads((small / "1" / "calibration.json").read_text())
    assert "extrinsics" not in calib and all("frames" not in c for c in calib["cameras"].values())
    cam = read_calibration(small / "1" / "calibration.json")["1"]
    assert not cam.moving and cam.at(5) is cam


def test_moving_cameras_are_deterministic(moving, tmp_path):
    generate_dataset(tmp_path / "again", progress=False, workers=2, **MOVING)
    assert _digest(tmp_path / "again") == _digest(moving)
    other = dict(MOVING, camera_motion=0.5, frames=4)
    generate_dataset(tmp_path / "half", progress=False, **other)
    half = read_calibration(tmp_path / "half" / "1" / "calibration.json")["1"]
    full = read_calibration(moving / "1" / "calibration.json")["1"]
    assert not np.allclose(half.path_R, full.path_R[:4])  # the level scales the motion


def test_camera_path_levels_and_prefix():
    cam = make_camera(eye=(-12, 3, 4), target=(0, 0, 1), size=(320, 180), hfov_deg=60)
    still_R, still_t = camera_path(np.random.default_rng(1), cam, 30, 10.0, 0.0)
    assert np.allclose(still_R, cam.R) and np.allclose(still_t, cam.t)
    R, t = camera_path(np.random.default_rng(1), cam, 300, 10.0, 1.0)
    R_short, t_short = camera_path(np.random.default_rng(1), cam, 120, 10.0, 1.0)
    assert np.array_equal(R[:120], R_short) and np.array_equal(t[:120], t_short)  # frames do not change poses
    yaw = np.degrees(np.unwrap(np.arctan2(R[:, 2, 1], R[:, 2, 0])))
    speed = np.abs(np.diff(yaw)) * 10.0
    assert 1 < np.median(speed) < 10  # a few degrees per second
    assert speed.max() > 15  # and quick head turns
    rest = np.degrees(np.arctan2(cam.R[2, 1], cam.R[2, 0]))
    assert np.abs(yaw - rest).max() < 0.5 * 60  # looks back at the walking area
    with pytest.raises(ValueError):
        camera_path(np.random.default_rng(1), cam, 10, 10.0, -1.0)


def test_moving_background_matches_a_direct_render():
    scene = make_scene(2, 0, 1, 200, (2, 2), (160, 96), camera_motion=1.0)
    cam = scene.cameras[0]
    background = MovingBackground(cam, scene.style)
    for t in range(200):
        img = background.frame(t)
        if t % 15 == 7:
            ref = render_background(cam.at(t), scene.style)
            diff = np.abs(img.astype(int) - ref.astype(int)).max(axis=2)
            assert diff.mean() < 4 and np.mean(diff > 40) < 0.02, (t, diff.mean())
    assert 2 <= len(background.tiles) <= 10  # a few wider renders serve every frame


def test_boxes_inside_image_and_columns(small):
    w_img, h_img = SMALL["size"]
    for scene in ("1", "2"):
        for view in ("1", "2", "3"):
            gt = read_mot(small / scene / view / "gt_det" / "gt.txt")
            det = read_mot(small / scene / view / "gt_det" / "det.txt")
            for rows in (gt, det):
                x, y, w, h = rows[:, 2:6].T
                assert (x >= 0).all() and (y >= 0).all() and (w > 0).all() and (h > 0).all()
                assert (x + w <= w_img + 1e-9).all() and (y + h <= h_img + 1e-9).all()
            assert (gt[:, 1] >= 1).all() and (gt[:, 6] == 1).all() and (gt[:, 7] == 1).all()
            assert ((gt[:, 8] >= 0.15) & (gt[:, 8] <= 1)).all() and (gt[:, 9] == -1).all()
            assert len(np.unique(gt[:, :2], axis=0)) == len(gt)  # one box per id and frame
            assert (det[:, 1] == -1).all() and (det[:, 7:] == -1).all()  # det.txt carries no ids
            assert ((det[:, 6] > 0) & (det[:, 6] <= 1)).all()


PLAIN = Appearance(height=1.75, build=1.0, skin=(150, 180, 220), hair=(30, 30, 30), top=(40, 40, 200),
                   top_alt=(40, 40, 200), pattern="plain", sleeves=True, bottom=(90, 60, 40), shorts=False,
                   shoes=(30, 30, 30))


def _two_people_scene(frames_xy: list) -> Scene:
    """A hand-made scene: people standing at ``frames_xy[t] (N, 2)``, one camera looking down +x."""
    people = [PLAIN, PLAIN]
    xy = np.array(frames_xy, dtype=float)  # (T, N, 2)
    shape = xy.shape[:2]
    world = World(fps=10.0, radius=8.0, xy=xy, heading=np.full(shape, np.pi), speed=np.zeros(shape),
                  phase=np.zeros(shape), people=people, props=[])
    cam = make_camera(eye=(-10, 0, 1.7), target=(0, 0, 1.0), size=(160, 120), hfov_deg=60)
    return Scene(world=world, cameras=[cam], style=sample_style(np.random.default_rng(0)),
                 figures=build_figures(people))


def test_occlusion_lowers_visibility_and_hides_from_gt(tmp_path):
    # person 1 stands 10 m from the camera; person 2 steps in front of it, then beside it, then half in front
    scene = _two_people_scene([[[0, 0], [-6, 0]], [[0, 0], [-6, 1.2]], [[0, 0], [-6, 0.28]]])
    write_view(scene, 0, tmp_path, seed=0, index=0, min_visibility=0.15)
    gt = read_mot(tmp_path / "gt_det" / "gt.txt")
    vis = {(int(r[0]), int(r[1])): r[8] for r in gt}
    assert (0, 1) not in vis and vis[(0, 2)] == 1.0  # hidden behind person 2: left out of the GT
    assert vis[(1, 1)] == 1.0 and vis[(1, 2)] == 1.0  # side by side: both fully visible
    assert 0.15 <= vis[(2, 1)] < 0.9 and vis[(2, 2)] == 1.0  # half hidden: visibility drops


def test_leaving_the_image_lowers_visibility():
    scene = _two_people_scene([[[0, 0], [0, 5.8]], [[0, 0], [0, 10]]])  # 10 m lateral: outside the view
    cam, fig, w = scene.cameras[0], scene.figures, scene.world
    r = ViewRenderer(cam, np.zeros((120, 160, 3), np.uint8), fig, [], np.array([0, 0, 1.0]), 1.0,
                     np.random.default_rng(0))
    res = r.render(*pose(fig, w.xy[0], w.heading[0], w.phase[0], w.speed[0]), w.heading[0], w.present[0])
    by_id = dict(zip(res.person.tolist(), res.visibility.tolist()))
    assert by_id[0] == 1.0 and 0 < by_id[1] < 1  # person 2 is cut by the image border
    assert (res.box[:, 0] + res.box[:, 2] <= 160).all()
    res = r.render(*pose(fig, w.xy[1], w.heading[1], w.phase[1], w.speed[1]), w.heading[1], w.present[1])
    assert res.person.tolist() == [0]
    nobody = np.zeros(2, bool)
    res = r.render(*pose(fig, w.xy[1], w.heading[1], w.phase[1], w.speed[1]), w.heading[1], nobody)
    assert res.person.shape == (0,) and res.box.shape == (0, 4) and res.visibility.shape == (0,)


def test_logo_seen_only_from_the_front():
    fig = build_figures([dataclasses.replace(PLAIN, logo=(0, 255, 0))])
    cam = make_camera(eye=(-6, 0, 1.5), target=(0, 0, 1.0), size=(320, 240), hfov_deg=50)
    r = ViewRenderer(cam, np.zeros((240, 320, 3), np.uint8), fig, [], np.array([0, 0, 1.0]), 1.0,
                     np.random.default_rng(0))
    green = []
    for heading in (np.pi, 0.0):  # facing the camera, then facing away
        xy, hd = np.zeros((1, 2)), np.array([heading])
        img = r.render(*pose(fig, xy, hd, np.zeros(1), np.zeros(1)), hd, np.ones(1, bool)).image
        green.append(int(np.sum((img[..., 1] > 120) & (img[..., 0] < 60) & (img[..., 2] < 60))))
    assert green[0] > 50 and green[1] == 0


def test_detector_noise_levels():
    rng = np.random.default_rng(0)
    box = np.tile([[10.0, 20.0, 30.0, 80.0]], (4000, 1))
    vis = np.r_[np.ones(2000), np.full(2000, 0.3)]
    exact = simulate_detections(rng, 5, box, vis, (640, 360), 0.15, DetectorNoise(level=0))
    assert len(exact) == 4000 and (exact[:, 2:6] == box).all() and (exact[:, 6] == 1).all()
    assert (exact[:, 0] == 5).all() and (exact[:, 1] == -1).all()
    found_clear, found_hidden = [], []
    for _ in range(2):
        d = simulate_detections(rng, 5, box[:2000], vis[:2000], (640, 360), 0.15, DetectorNoise())
        found_clear.append(len(d))
        d = simulate_detections(rng, 5, box[2000:], vis[2000:], (640, 360), 0.15, DetectorNoise(false_positives=0))
        found_hidden.append(len(d))
    assert np.mean(found_hidden) < 0.85 * np.mean(found_clear)  # occluded people are missed more
    assert np.mean(found_clear) < 2000  # and even clear ones sometimes
    d = simulate_detections(rng, 0, np.zeros((0, 4)), np.zeros(0), (640, 360), 0.15,
                            DetectorNoise(false_positives=50))
    assert len(d) > 20 and d.shape[1] == 10  # false positives in an empty frame


def test_zero_detector_noise_gives_gt_boxes(tmp_path):
    generate_dataset(tmp_path, scenes=1, views=1, frames=4, people=(3, 4), size=(96, 64), seed=1,
                     det_noise=0.0, progress=False)
    gt = read_mot(tmp_path / "1" / "1" / "gt_det" / "gt.txt")
    det = read_mot(tmp_path / "1" / "1" / "gt_det" / "det.txt")
    key = lambda r: np.lexsort(r[:, [5, 4, 3, 2, 0]].T)
    assert np.array_equal(gt[key(gt)][:, [0, 2, 3, 4, 5]], det[key(det)][:, [0, 2, 3, 4, 5]])


def test_world_motion_is_varied():
    world = make_world(np.random.default_rng(4), n_people=10, n_frames=300, fps=10.0)
    present = world.present
    assert (~present[0]).any() and present[-1].sum() > 0  # some enter later
    assert (present[:-1] & ~present[1:]).any() or (~present[0] & present[-1]).any()
    step = np.diff(world.xy, axis=0)
    speed = np.hypot(step[..., 0], step[..., 1]) * world.fps
    assert np.nanstd(np.nanmean(speed, axis=0)) > 0.1  # different people walk at different speeds
    assert np.nanmin(speed) < 0.1  # somebody stops
    turn = np.abs(np.angle(np.exp(1j * np.diff(world.heading, axis=0))))
    assert np.nanmax(turn) < 0.3 and np.nansum(turn) > 10  # smooth but not straight


def test_some_people_share_clothes():
    people = sample_appearances(np.random.default_rng(0), 8)
    tops = [p.top for p in people]
    assert len(set(tops)) < len(tops)
    assert all(p.logo is not None or p.backpack is not None for p in people)


def test_tiny_scene_with_default_settings(tmp_path):
    # speed is measured in bench/synthetic_speed.py, not asserted here (machines differ up to 2x)
    generate_dataset(tmp_path, scenes=1, views=2, frames=10, size=(64, 48), progress=False)
    assert DatasetLayout(tmp_path).frames("1", "test") == [7, 8, 9]


def test_cli_arguments():
    args = parse_args(["--out", "x", "--people", "6-10", "--size", "640x360", "--det-noise", "0.5"])
    assert args.people == (6, 10) and args.size == (640, 360) and args.det_noise == 0.5
    assert parse_args(["--out", "x", "--people", "5"]).people == (5, 5)
    assert parse_args(["--out", "x"]).camera_motion == 0.0
    assert parse_args(["--out", "x", "--camera-motion", "0.5"]).camera_motion == 0.5
    with pytest.raises(ValueError):
        generate_dataset("unused", camera_motion=-1.0, progress=False)


def test_output_folder_is_never_mixed_or_wrongly_deleted(tmp_path):
    args = dict(scenes=1, frames=3, people=(2, 2), size=(64, 48), progress=False)
    generate_dataset(tmp_path / "d", views=3, **args)
    with pytest.raises(FileExistsError):
        generate_dataset(tmp_path / "d", views=2, **args)
    generate_dataset(tmp_path / "d", views=2, overwrite=True, **args)
    assert DatasetLayout(tmp_path / "d").views("1") == ["1", "2"]  # no stale view 3
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        generate_dataset(tmp_path / "other", views=1, overwrite=True, **args)
    assert (tmp_path / "other" / "notes.txt").read_text() == "keep me"


def test_ensure_dataset_reuses_same_settings_and_replaces_others(tmp_path, capsys):
    args = dict(scenes=1, views=2, frames=5, people=(3, 4), size=(96, 64), seed=11, progress=False)
    out = tmp_path / "d"
    assert ensure_dataset(out, **args)
    assert json.loads((out / "synthetic.json").read_text())["people"] == [3, 4]
    first = _digest(out)
    assert not ensure_dataset(out, workers=2, **args)  # same settings: nothing written
    assert _digest(out) == first
    capsys.readouterr()
    assert ensure_dataset(out, **dict(args, seed=12))  # other settings: replaced, with a message
    assert "other settings" in capsys.readouterr().out and _digest(out) != first
    (out / "dataset.yaml").unlink()  # as if a generation had been interrupted
    (out / ".synthetic-incomplete").touch()
    assert ensure_dataset(out, **args) and _digest(out) == first
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "dataset.yaml").write_text("name: mine\nscenes:\n  '1': {train: [0, 3], test: [3, 5]}\n")
    with pytest.raises(FileExistsError, match="no synthetic dataset"):  # never deletes a foreign dataset
        ensure_dataset(tmp_path / "mine", **args)
