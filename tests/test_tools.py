"""tools/demo.py and tools/reproduce.py end to end on tiny settings (a few training steps)."""
import json
from dataclasses import replace

import pytest

from config import load_config
from engine.checkpoint import load_checkpoint

from tools import demo, reproduce, training_rows

TINY_DATA = ["--scenes", "2", "--views", "2", "--frames", "30", "--seed", "3"]
TINY_TRAIN = ["--train.max_steps=2", "--train.val_interval=1", "--train.ckpt_interval=1", "--train.log_interval=1",
              "--data.crop_height=32", "--data.crop_width=16", "--data.num_workers=0", "--model.embed_dim=16"]


def test_demo_writes_every_output_and_reports_the_bar(tmp_path):
    args, rest = demo.parse_args(TINY_DATA + [f"--data.root={tmp_path / 'data'}",
                                              f"--train.out_dir={tmp_path / 'run'}"] + TINY_TRAIN)
    status = demo.main(args, rest)
    out = tmp_path / "run"
    for name in ("best.pt", "metrics.jsonl", "loss.png", "tables.md", "tables.json", "per_scene.png", "mosaic.png"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "tables.json").read_text())
    assert status == (0 if summary["passed"] else 1)
    gains = summary["gains"]
    assert summary["passed"] == (gains["MVIDF1"] >= 0.10 and gains["IDF1"] >= 0.05)
    assert set(summary["overall"]) == {"trained", "untrained", "trained, release association"}
    assert summary["dataset"]["seed"] == 3
    assert ("PASS" if summary["passed"] else "FAIL") in (out / "tables.md").read_text()


@pytest.fixture
def tiny_reproduction(monkeypatch):
    monkeypatch.setattr(reproduce, "DATASET", dict(scenes=2, views=4, frames=40, seed=3, camera_motion=0.3,
                                                   train_fraction=0.5, people=(3, 4), size=(160, 96)))
    monkeypatch.setitem(reproduce.PROFILES, "cpu", dict(
        config="configs/demo.yaml", note="tiny", train=dict(device="cpu", max_steps=2, batch_size=2, val_interval=1,
                                                            ckpt_interval=1, log_interval=1)))
    monkeypatch.setattr(reproduce, "METHOD_ROWS", (reproduce.METHOD_ROWS[0], reproduce.METHOD_ROWS[3],
                                                   reproduce.METHOD_ROWS[-1]))
    monkeypatch.setattr(reproduce, "TRACKER_ROWS", (reproduce.TRACKER_ROWS[0], reproduce.TRACKER_ROWS[3]))
    monkeypatch.setattr(training_rows, "ROWS", (training_rows.ROWS[0], training_rows.ROWS[2], training_rows.ROWS[-1]))


def test_reproduce_tables_and_row_reuse(tmp_path, tiny_reproduction, capsys):
    argv = ["--out", str(tmp_path / "out"), "--data", str(tmp_path / "data"), "--profile", "cpu",
            "--group", "method", "--group", "tracker"]  # the training table: the next test
    assert reproduce.main(reproduce.parse_args(argv)) == 0
    out = tmp_path / "out" / "cpu"
    tables = json.loads((out / "tables.json").read_text())
    assert list(tables["tables"]["method"]) == ["untrained features", "transitive only", "all three (paper)"]
    assert list(tables["tables"]["tracker"]) == ["per-view tracking only", "re-matching every 30 frames (paper)"]
    method, tracker = tables["tables"]["method"], tables["tables"]["tracker"]
    assert method["untrained features"]["checkpoint"] == "init"  # and no training run:
    untrained = out / "method" / "untrained_features"
    assert (untrained / "row.json").is_file() and not (untrained / "train").exists()
    assert (out / "method" / "all_three_paper" / "train" / "best.pt").is_file()
    # the per-view row shares no ID across views; the paper's tracker row equals the method row of the same model
    assert tracker["per-view tracking only"]["metrics"]["MVIDF1"] in (None, 0.0) or \
        tracker["per-view tracking only"]["metrics"]["MVIDP"] == 0.0
    assert tracker["re-matching every 30 frames (paper)"]["metrics"] == method["all three (paper)"]["metrics"]
    # the transitive-only row trained with the other weights switched off
    saved = (out / "method" / "transitive_only" / "config.yaml").read_text()
    assert "self_weight: 0.0" in saved and "pairwise_weight: 0.0" in saved and "triplewise_weight: 1.0" in saved
    assert method["transitive only"]["change"] == "--loss.self_weight=0.0 --loss.pairwise_weight=0.0"
    assert tables["tables"]["method_tracklet"]["all three (paper)"]["change"] == "--track.association=tracklet"
    assert tracker["per-view tracking only"]["change"] == "--track.association=none"
    md = (out / "tables.md").read_text()
    assert "seed 3" in md and all(name in md for name in method) and "wall (s)" in md
    # a second run reuses every row; --force runs them again
    before = {p: p.stat().st_mtime_ns for p in out.rglob("row.json")}
    capsys.readouterr()
    reproduce.main(reproduce.parse_args(argv))
    assert capsys.readouterr().out.count("reusing") == 8
    assert before == {p: p.stat().st_mtime_ns for p in out.rglob("row.json")}
    reproduce.main(reproduce.parse_args(argv[:-4] + ["--force", "--group", "tracker"]))
    assert all(p.stat().st_mtime_ns != before[p] for p in (out / "tracker").rglob("row.json"))


def test_training_rows_are_the_release_and_each_switch(tmp_path, tiny_reproduction):
    argv = ["--out", str(tmp_path / "out"), "--data", str(tmp_path / "data"), "--profile", "cpu", "--group", "training"]
    assert reproduce.main(reproduce.parse_args(argv)) == 0
    out = tmp_path / "out" / "cpu"
    tables = json.loads((out / "tables.json").read_text())["tables"]
    assert set(tables) == {"training", "training_tracklet"}  # no method row was needed
    names = ["release", "release with ImageNet pixels (RGB, mean/std)", "this project's training"]
    assert list(tables["training"]) == names == list(tables["training_tracklet"])
    configs = {n: load_config(out / "training" / reproduce.slug(n) / "config.yaml") for n in names}
    release, imagenet, project = (configs[n] for n in names)
    # the release row: the profile's small model with every release switch
    assert (release.data.pixels, release.train.forward, release.train.select) == ("bgr255", "per_image", "train_loss")
    assert (release.loss.self_weight, release.data.val_fraction, release.data.ranges) == (0.0, 0.0, "positions")
    assert release.model.backbone == load_config("configs/demo.yaml").model.backbone
    best = load_checkpoint(out / "training" / "release" / "train" / "best.pt")["best"]
    assert best["metric"] == "train_loss"
    # one switch alone: everything else as the release
    unswitched = [replace(c, data=replace(c.data, pixels="-"), train=replace(c.train, out_dir="")) for c in (imagenet, release)]
    assert imagenet.data.pixels == "imagenet" and unswitched[0] == unswitched[1]
    assert tables["training"][names[1]]["change"] == "release --data.pixels=imagenet"
    # this project's training: the demo config's training sections, the paper's tracker, as many samples
    demo_cfg = load_config("configs/demo.yaml")
    assert project.data.box_jitter == demo_cfg.data.box_jitter > 0 and project.train.select == "val_loss"
    assert project.track == release.track and project.track.association == "release"
    assert project.model == release.model  # every row trains the same network (the profile's)
    assert project.train.max_steps * project.train.batch_size == release.train.max_steps * release.train.batch_size


def test_gpu_training_rows_are_the_yaml_files(tmp_path):
    cfg, _ = reproduce.base_config("gpu", tmp_path / "data", tmp_path / "out")
    setup, _ = reproduce.dataset_setup("gpu", tmp_path / "data", "resnet50", "imagenet")
    rows = {name: c for name, c, _ in training_rows.training_rows("gpu", cfg, setup, reproduce.PROFILES["gpu"]["train"])}
    release, paper = load_config("configs/release.yaml"), load_config("configs/paper.yaml")
    for name, source in (("release", release), ("paper: release + self-similarity", paper)):
        row = rows[name]
        assert (row.loss, row.track) == (source.loss, source.track)
        assert row.train.forward == source.train.forward and row.data.pixels == source.data.pixels
        assert row.train.batch_size == source.train.batch_size == 1
        assert row.train.max_steps == 150 * 8  # the profile's 150 steps of 8 samples, as samples
        assert row.data.root == str(tmp_path / "data") and row.data.manifest is None


def test_profile_choice():
    assert reproduce.pick_profile("auto", cuda=False) == "cpu"
    assert reproduce.pick_profile("auto", cuda=True) == "gpu"
    with pytest.raises(SystemExit, match="needs CUDA"):
        reproduce.pick_profile("gpu", cuda=False)


def test_gpu_profile_is_the_paper_setting(tmp_path):
    cfg, note = reproduce.base_config("gpu", tmp_path / "data", tmp_path / "out")
    assert (cfg.model.backbone, cfg.data.crop_height, cfg.data.crop_width) == ("resnet50", 224, 224)
    assert cfg.train.device == "cuda" and cfg.train.batch_size > 1 and cfg.data.manifest is None
    assert cfg.track.association == "release" and cfg.track.renew_interval == 30
    # no ImageNet weights in this machine's torch cache: random init, and the table says so
    assert cfg.model.weights in ("imagenet", "none") and (cfg.model.weights == "imagenet" or "random init" in note)


def test_cpu_profile_trains_and_tracks_as_the_paper(tmp_path):
    """The CPU rows use the demo's crops with the recorded ResNet-18 setting, but not the demo's
    augmentation, schedule or tracker changes."""
    from config import Config
    demo = reproduce.load_config("configs/demo.yaml")
    assert demo.data.box_jitter > 0 and demo.track.reid_after > 0  # what the demo changes
    cfg, _ = reproduce.base_config("cpu", tmp_path / "data", tmp_path / "out")
    assert cfg.data.crop_height == demo.data.crop_height and cfg.model.head == demo.model.head
    assert (cfg.model.backbone, cfg.train.lr, cfg.train.schedule, cfg.train.max_steps) == ("resnet18", 1e-3, "constant", 400)
    paper = Config()
    assert cfg.track == paper.track and cfg.track.association == "release"
    assert (cfg.data.box_jitter, cfg.data.colour_jitter, cfg.data.mirror) == (0.0, 0.0, False)
