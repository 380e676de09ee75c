"""inference.py end to end on a small synthetic dataset: result files, features cache, errors."""
import json

import numpy as np
import pytest
import torch

import inference
from config import load_config
from datasets.synthetic.generate import generate_dataset
from engine.checkpoint import save_checkpoint
from loader.layout import DatasetLayout
from loader.mot import read_mot
from models.embedding import build_model

MODEL = ["--model.backbone=resnet18", "--model.head=linear", "--model.embed_dim=16",
         "--data.crop_height=32", "--data.crop_width=16", "--data.num_workers=0"]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    out = tmp_path_factory.mktemp("inf") / "data"
    generate_dataset(out, scenes=2, views=2, frames=20, people=(3, 4), size=(160, 96), seed=1, progress=False)
    return out


def run(root, out, checkpoint="none", *extra, overrides=()):
    args, rest = inference.parse_args(["--checkpoint", str(checkpoint), "--out", str(out), *extra])
    cfg = load_config(None, [f"--data.root={root}", *MODEL, *rest, *overrides])
    return inference.main(cfg, args)


def test_results_in_official_naming_and_reusable_features(root, tmp_path):
    out = tmp_path / "out"
    run_info = run(root, out)
    layout = DatasetLayout(root)
    assert sorted(run_info["results"]) == ["1_1.txt", "1_2.txt", "2_1.txt", "2_2.txt"]
    for name in run_info["results"]:
        rows = read_mot(out / name)
        scene = name.split("_")[0]
        start, end = layout.split_range(scene, "test")
        assert len(rows) and ((rows[:, 0] >= start) & (rows[:, 0] < end)).all()
        # one id at most once per frame
        pairs = rows[:, :2].astype(int)
        assert len(np.unique(pairs, axis=0)) == len(pairs)
    saved = json.loads((out / "run.json").read_text())
    assert saved["checkpoint_sha256"] == "untrained-none-seed0" and "embed_s" in saved["timings"]
    # re-running only the tracker gives the same results
    before = {n: (out / n).read_text() for n in run_info["results"]}
    run(root, out, "none", "--reuse-features")
    assert {n: (out / n).read_text() for n in run_info["results"]} == before
    # cached features made by another model are refused
    with pytest.raises(ValueError, match="computed from another checkpoint"):
        run(root, out, "none", "--reuse-features", overrides=["--train.seed=1"])


def test_checkpoint_gives_its_own_architecture(root, tmp_path):
    torch.manual_seed(3)
    model = build_model("resnet18", "linear", 16)
    state = {"model": model.state_dict(), "optimizer": {}, "scheduler": {}, "scaler": None, "step": 1,
             "epoch": 0, "rng": {}, "config": {"model": {"backbone": "resnet18", "head": "linear", "embed_dim": 16,
                                                          "weights": "none"},
                                                "data": {"crop_height": 32, "crop_width": 16}}, "best": {}}
    save_checkpoint(tmp_path / "m.pt", state)
    # the command line asks for resnet50: the checkpoint's resnet18 wins
    info = run(root, tmp_path / "out", tmp_path / "m.pt", "--scene", "1", overrides=["--model.backbone=resnet50"])
    assert info["scenes"] == ["1"] and len(info["checkpoint_sha256"]) == 64
    feats = np.load(tmp_path / "out" / "features" / "1.npz")["features"]
    assert feats.shape[1] == 16 and np.allclose(np.linalg.norm(feats, axis=1), 1, atol=1e-5)


def test_bad_inputs_are_clear_errors(root, tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(RuntimeError, match="cannot read checkpoint"):
        run(root, tmp_path / "o", tmp_path / "junk.pt")
    with pytest.raises(KeyError, match=r"scenes \['9'\] are not in"):
        run(root, tmp_path / "o", "none", "--scene", "9")
    with pytest.raises(KeyError, match="has no split 'val'"):
        run(root, tmp_path / "o", "none", "--split", "val")


def test_render_writes_videos_and_mosaic_frames(root, tmp_path):
    run(root, tmp_path / "out", "none", "--scene", "2", "--render")
    files = sorted(p.name for p in (tmp_path / "out" / "render").iterdir())
    assert {"2_1.mp4", "2_2.mp4", "2_mosaic.mp4"} <= set(files)
    assert any(f.startswith("2_mosaic_") and f.endswith(".png") for f in files)
    assert not any(f.startswith(".") for f in files)  # no partial files left
    assert (tmp_path / "out" / "render" / "2_mosaic.mp4").stat().st_size > 1000


def test_init_checkpoint_uses_the_configured_starting_weights(root, tmp_path):
    torch.manual_seed(4)
    model = build_model("resnet18", "linear", 16)
    save_checkpoint(tmp_path / "m.pt", {
        "model": model.state_dict(), "optimizer": {}, "scheduler": {}, "scaler": None, "step": 1, "epoch": 0,
        "rng": {}, "best": {}, "config": {"model": {"backbone": "resnet18", "head": "linear", "embed_dim": 16,
                                                    "weights": "none"},
                                          "data": {"crop_height": 32, "crop_width": 16}}})
    run(root, tmp_path / "ckpt", tmp_path / "m.pt", "--scene", "1")
    run(root, tmp_path / "init", "init", "--scene", "1", overrides=[f"--model.weights={tmp_path / 'm.pt'}"])
    run(root, tmp_path / "none", "none", "--scene", "1", overrides=[f"--model.weights={tmp_path / 'm.pt'}"])
    feats = {k: np.load(tmp_path / k / "features" / "1.npz")["features"] for k in ("ckpt", "init", "none")}
    assert np.allclose(feats["init"], feats["ckpt"], atol=1e-5)  # 'init' loaded model.weights
    assert not np.allclose(feats["none"], feats["ckpt"], atol=1e-2)  # 'none' ignores them


def test_features_follow_the_checkpoints_pixel_convention(root, tmp_path):
    torch.manual_seed(5)
    model = build_model("resnet18", "linear", 16)
    feats = {}
    for pixels in ("imagenet", "bgr255"):
        save_checkpoint(tmp_path / f"{pixels}.pt", {
            "model": model.state_dict(), "optimizer": {}, "scheduler": {}, "scaler": None, "step": 1, "epoch": 0,
            "rng": {}, "best": {}, "config": {"model": {"backbone": "resnet18", "head": "linear", "embed_dim": 16,
                                                        "weights": "none"},
                                              "data": {"crop_height": 32, "crop_width": 16, "pixels": pixels}}})
        run(root, tmp_path / pixels, tmp_path / f"{pixels}.pt", "--scene", "1")
        feats[pixels] = np.load(tmp_path / pixels / "features" / "1.npz")["features"]
    assert feats["imagenet"].shape == feats["bgr255"].shape
    assert not np.allclose(feats["imagenet"], feats["bgr255"], atol=1e-2)  # same weights, other input
