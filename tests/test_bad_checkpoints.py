"""Checkpoints on a full disk: an error naming the file and saying the disk is full, the previous
checkpoint intact, no temporary file left (also none that a killed write left)."""
import errno
import os
import shutil

import pytest
import torch

import engine.checkpoint
from engine.checkpoint import REQUIRED_KEYS, CheckpointError, load_checkpoint, save_checkpoint


def state(step):
    return {**{k: None for k in REQUIRED_KEYS}, "model": {"w": torch.zeros(1000)}, "step": step}


def torch_on_a_full_disk(obj, f):
    """What torch.save does when the disk fills up: part of the file, then its own message."""
    with open(f, "wb") as out:
        out.write(b"PK\x03\x04 partial")
    raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 4160 vs 4054")


def test_an_unreadable_safetensors_checkpoint_is_a_checkpoint_error(tmp_path):
    path = tmp_path / "vit.safetensors"
    path.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{trunc")  # a header length, then a cut header
    with pytest.raises(CheckpointError, match=rf"cannot read weights file {path}: "):
        load_checkpoint(path)


def listing(folder):
    return sorted(os.listdir(folder))


def test_full_disk_names_the_checkpoint_and_keeps_the_last_one(tmp_path, monkeypatch):
    path = tmp_path / "run" / "last.pt"
    save_checkpoint(path, state(1))
    monkeypatch.setattr(engine.checkpoint.torch, "save", torch_on_a_full_disk)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10**9, 10**9 - 1000, 1000))
    with pytest.raises(CheckpointError) as err:
        save_checkpoint(path, state(2))
    assert str(err.value).startswith(f"cannot write checkpoint {path}: the disk is full (0.0 MB free in "
                                     f"{path.parent}; the checkpoint needs about 0.0 MB)")
    assert listing(path.parent) == ["last.pt"] and load_checkpoint(path)["step"] == 1


def test_no_space_error_from_the_file_system(tmp_path, monkeypatch):
    def no_space(obj, f):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(engine.checkpoint.torch, "save", no_space)
    with pytest.raises(CheckpointError, match=rf"cannot write checkpoint {tmp_path / 'best.pt'}: the disk is full"):
        save_checkpoint(tmp_path / "best.pt", state(1))
    assert listing(tmp_path) == []


def test_other_write_failures_keep_their_message(tmp_path, monkeypatch):
    def broken(obj, f):
        raise RuntimeError("something else")

    monkeypatch.setattr(engine.checkpoint.torch, "save", broken)
    with pytest.raises(CheckpointError, match=rf"cannot write checkpoint {tmp_path / 'last.pt'}: something else"):
        save_checkpoint(tmp_path / "last.pt", state(1))


def test_temporary_files_of_a_killed_write_are_removed(tmp_path, caplog):
    orphans = [tmp_path / ".last.pt.k1ll3d.tmp", tmp_path / ".last.pt.0ther.tmp"]
    for p in orphans:
        p.write_bytes(b"half a checkpoint")
    (tmp_path / ".best.pt.x.tmp").write_bytes(b"another file's")
    with caplog.at_level("INFO", logger="engine.checkpoint"):
        save_checkpoint(tmp_path / "last.pt", state(3))
    assert listing(tmp_path) == [".best.pt.x.tmp", "last.pt"]
    assert all(f"removed {p}, left by an interrupted checkpoint write" in caplog.text for p in orphans)


def test_run_json_records_the_checkpoints_network(tmp_path, caplog):
    import json

    import inference
    from config import load_config
    from datasets.toy import write_toy_dataset
    from models.embedding import build_model

    root = write_toy_dataset(tmp_path / "data")
    ckpt = {**state(1), "model": build_model("resnet10", "linear", 16).state_dict(),
            "config": {"model": {"backbone": "resnet10", "head": "linear", "embed_dim": 16, "weights": "none"},
                       "data": {"crop_height": 16, "crop_width": 8}}}
    save_checkpoint(tmp_path / "m.pt", ckpt)
    args, rest = inference.parse_args(["--checkpoint", str(tmp_path / "m.pt"), "--out", str(tmp_path / "out")])
    cfg = load_config(None, [f"--data.root={root}", "--data.num_workers=0", "--model.head=linear", *rest])
    with caplog.at_level("WARNING", logger="pipeline.split"):
        inference.main(cfg, args)  # the config says resnet50, 512-d, 224x224
    assert ("the checkpoint's network is used, not the config's: model.backbone='resnet10' (config: 'resnet50'), "
            "model.embed_dim=16 (config: 512), data.crop_height=16 (config: 224), data.crop_width=8 (config: 224)"
            ) in caplog.text
    used = json.loads((tmp_path / "out" / "run.json").read_text())["config"]
    assert (used["model"]["backbone"], used["model"]["embed_dim"]) == ("resnet10", 16)
    assert (used["data"]["crop_height"], used["data"]["crop_width"]) == (16, 8)
    caplog.clear()
    inference.main(load_config(None, [f"--data.root={root}", "--data.num_workers=0", "--model.backbone=resnet10",
                                      "--model.head=linear", "--model.embed_dim=16", "--data.crop_height=16",
                                      "--data.crop_width=8", *rest]), args)
    assert "network is used" not in caplog.text  # the same network: no notice
