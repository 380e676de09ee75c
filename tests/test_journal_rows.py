"""The reproduction's journal rows (tools/journal_rows.py): their configs on both profiles and
their place in tools/reproduce.py's command line. The rows themselves are not run here."""
import json
from dataclasses import replace

from config import load_config
from engine.checkpoint import load_checkpoint
from tools import journal_rows, reproduce


def rows_of(profile, tmp_path):
    cfg, _ = reproduce.base_config(profile, tmp_path / "data", tmp_path / "out")
    setup, _ = reproduce.dataset_setup(profile, tmp_path / "data", cfg.model.backbone, cfg.model.weights)
    row_dir = lambda name: tmp_path / "out" / "journal" / reproduce.slug(name)  # noqa: E731
    rows = journal_rows.journal_rows(profile, cfg, setup, reproduce.PROFILES[profile]["train"], row_dir)
    return cfg, row_dir, {name: (c, change, kind) for name, c, change, kind in rows}


def test_cpu_journal_rows(tmp_path):
    base, row_dir, rows = rows_of("cpu", tmp_path)
    assert list(rows) == [n for n, _ in journal_rows.ROWS]
    appearance, joint, release, tracklet = (rows[n][0] for n, _ in journal_rows.ROWS)
    # the profile's small model with the journal's losses
    assert joint.model.backbone == base.model.backbone == "resnet18" and joint.data == base.data
    assert (joint.loss.transitive, joint.loss.hinge, joint.loss.self_weight) == ("journal", "journal", 0.0)
    assert (joint.loss.focal_weight, joint.loss.symmetry_weight, joint.loss.nuclear_weight, joint.loss.sum_weight) \
        == (5.0, 0.002, 1e-4, 0.004)
    assert joint.model.stan == "fc" and appearance.model.stan == "none"
    assert replace(appearance, model=joint.model) == replace(joint, track=appearance.track)  # only STAN differs
    assert appearance.track == base.track and appearance.track.association == "release"
    # the joint row tracks with its own STAN, as the journal's inference
    t = joint.track
    assert (t.association, t.stan_epsilon, t.stan_threshold, t.renew_interval) == ("stan", 0.1, 0.5, 10)
    assert t.stan_weights == str(row_dir(journal_rows.JOINT) / "train" / "best.pt")
    # the reuse rows: the joint row's training, another association
    for cfg, mode in ((release, "release"), (tracklet, "tracklet")):
        assert cfg.track.association == mode and replace(cfg, track=joint.track) == joint
    assert [rows[n][2] for n, _ in journal_rows.ROWS] == ["train", "train", "reuse", "reuse"]
    assert "--track.association=stan" in rows[journal_rows.JOINT][1] and "--loss.hinge=journal" in rows[journal_rows.JOINT][1]


def test_gpu_journal_rows_are_the_yaml_file(tmp_path):
    _, _, rows = rows_of("gpu", tmp_path)
    joint, change, _ = rows[journal_rows.JOINT]
    source = load_config("configs/journal.yaml")
    assert (joint.loss, joint.model.stan, joint.model.backbone) == (source.loss, "transformer", "resnet50")
    assert joint.train.max_steps * joint.train.batch_size == 150 * 8 and joint.train.batch_size == 1
    assert joint.data.root == str(tmp_path / "data") and change.startswith("`configs/journal.yaml` --track.association=stan")
    assert "--track.stan_weights=<this row>/train/best.pt" in change
    assert joint.track.association == "stan" and joint.track.renew_interval == 10


def test_reproduce_offers_the_journal_group_and_rows():
    assert "journal" in reproduce.GROUPS
    args = reproduce.parse_args(["--group", "journal", "--row", journal_rows.JOINT])
    assert args.group == ["journal"] and args.row == [journal_rows.JOINT]


def test_tiny_journal_group_trains_tracks_and_reuses(tmp_path, monkeypatch):
    monkeypatch.setattr(reproduce, "DATASET", dict(scenes=1, views=2, frames=40, seed=3, camera_motion=0.0,
                                                   train_fraction=0.5, people=(3, 3), size=(160, 96)))
    monkeypatch.setitem(reproduce.PROFILES, "cpu", dict(
        config="configs/demo.yaml", note="tiny", train=dict(device="cpu", max_steps=2, batch_size=2, val_interval=1,
                                                            ckpt_interval=1, log_interval=1)))
    argv = ["--out", str(tmp_path / "out"), "--data", str(tmp_path / "data"), "--profile", "cpu", "--group", "journal"]
    assert reproduce.main(reproduce.parse_args(argv)) == 0
    out = tmp_path / "out" / "cpu"
    tables = json.loads((out / "tables.json").read_text())["tables"]
    assert list(tables["journal"]) == [n for n, _ in journal_rows.ROWS]
    joint = tables["journal"][journal_rows.JOINT]
    assert joint["checkpoint"].endswith("train/best.pt")
    assert load_checkpoint(joint["checkpoint"])["config"]["model"]["stan"] == "fc"
    reuse = tables["journal"]["journal features, release association"]
    assert reuse["checkpoint"] == joint["checkpoint"] and reuse["train_s"] < 1  # no training of its own
    assert "Journal method (MvMHAT++)" in (out / "tables.md").read_text()
