"""Resuming: settings the checkpoint decides cannot be changed silently, other changes are listed,
and a killed run's log entries after its last checkpoint are not kept twice."""
import json

import pytest

import train
from config import load_config
from datasets.toy import write_toy_dataset
from engine.checkpoint import CheckpointError
from engine.resume import check_resume, truncate_metrics
from engine.trainer import Trainer


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_toy_dataset(tmp_path_factory.mktemp("resume") / "data", views=("1", "2"), frames=range(20),
                             train=(0, 16), test=(16, 20), size=(64, 48))


def tiny(root, out, *extra):
    return load_config(None, [f"--data.root={root}", f"--train.out_dir={out}", "--model.backbone=resnet10",
                              "--model.weights=none", "--data.crop_height=16", "--data.crop_width=8",
                              "--train.batch_size=2", "--data.num_workers=0", "--train.log_interval=1",
                              "--data.val_fraction=0.25", "--train.lr=1e-3", "--train.val_interval=0", *extra])


def steps(out, kind="train"):
    entries = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [e["step"] for e in entries if e["kind"] == kind]


class Killed(Exception):
    pass


def test_resume_after_a_kill_keeps_each_step_once(data_root, tmp_path, monkeypatch):
    out = tmp_path / "run"
    original = Trainer.train_step

    def killed_at_step_4(self, batch):
        if self.step == 3:
            raise Killed
        return original(self, batch)

    monkeypatch.setattr(Trainer, "train_step", killed_at_step_4)
    with pytest.raises(Killed):
        train.main(tiny(data_root, out, "--train.max_steps=4", "--train.ckpt_interval=2"))
    assert steps(out) == [1, 2, 3]  # step 3 logged, last.pt holds step 2
    monkeypatch.setattr(Trainer, "train_step", original)
    train.main(tiny(data_root, out, "--train.max_steps=4", "--train.ckpt_interval=2",
                    f"--train.resume={out / 'last.pt'}"))
    assert steps(out) == [1, 2, 3, 4] and steps(out, "val") == [4]


def test_resume_refuses_a_setting_the_checkpoint_decides(data_root, tmp_path):
    out = tmp_path / "run"
    train.main(tiny(data_root, out, "--train.max_steps=1"))
    before = (out / "metrics.jsonl").read_text()
    resume = f"--train.resume={out / 'last.pt'}"
    with pytest.raises(CheckpointError) as err:
        train.main(tiny(data_root, out, "--train.max_steps=2", "--train.lr=2e-3", resume))
    assert f"--train.resume={out / 'last.pt'}: a resumed run takes" in str(err.value)
    assert "train.lr is 0.001 in the optimizer state, 0.002 in the config" in str(err.value)
    assert (out / "metrics.jsonl").read_text() == before  # nothing trained, nothing rewritten
    trainer = train.main(tiny(data_root, out, "--train.max_steps=2", resume))
    assert trainer.step == 2
    log = (out / "train.log").read_text()  # (train.py's logging replaces pytest's log capture)
    assert "model.backbone, model.head, model.embed_dim, train.lr, train.weight_decay, train.seed come from the " \
           "checkpoint" in log
    assert "WARNING resuming with settings other than the checkpoint's run, in effect from its step on: " \
           "train.max_steps: 1 -> 2" in log


def test_check_resume_skips_untracked_and_unrecorded_keys():
    saved = {"train": {"lr": 1e-3, "out_dir": "a", "max_steps": 1}, "model": {"backbone": "resnet18"}}
    current = {"train": {"lr": 1e-3, "out_dir": "b", "max_steps": 1, "new_key": 3},
               "model": {"backbone": "resnet18"}}
    assert check_resume(saved, current, "x.pt") == []
    current["model"]["backbone"] = "resnet50"
    with pytest.raises(CheckpointError, match="model.backbone is 'resnet18' in the weights, 'resnet50' in the config"):
        check_resume(saved, current, "x.pt")


def test_truncate_metrics(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text("".join(json.dumps({"kind": "train", "step": s}) + "\n" for s in (1, 2, 3, 2, 3)))
    assert truncate_metrics(path, 2) == 2
    assert [json.loads(line)["step"] for line in path.read_text().splitlines()] == [1, 2, 2]
    assert truncate_metrics(tmp_path / "none.jsonl", 2) == 0 and not (tmp_path / "none.jsonl").exists()
