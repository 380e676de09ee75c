"""Training: exact resume, DDP on two CPU processes, checkpoints and validation, model weights."""
import json
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

import train
from config import load_config
from datasets.toy import write_toy_dataset
from engine.checkpoint import REQUIRED_KEYS, load_checkpoint
from engine.schedule import lr_factor
from engine.validation import association_counts
from models.embedding import WeightsError, build_model, imagenet_weights_path


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("train") / "data"
    return write_toy_dataset(root, views=("1", "2", "3"), frames=range(20), train=(0, 16), test=(16, 20),
                             size=(96, 64))


def tiny(root, out, *extra):
    return load_config(None, [f"--data.root={root}", f"--train.out_dir={out}", "--model.backbone=resnet18",
                              "--model.weights=none", "--data.crop_height=32", "--data.crop_width=16",
                              "--train.batch_size=2", "--data.num_workers=0", "--train.log_interval=1",
                              "--data.val_fraction=0.25", "--train.lr=1e-3", *extra])


def weights(trainer):
    return {k: v.clone() for k, v in trainer.model.state_dict().items()}


AUGMENT = ("--data.box_jitter=0.05", "--data.colour_jitter=0.1", "--data.mirror=true")


@pytest.mark.parametrize("aug", [(), AUGMENT], ids=["plain", "augmented"])
def test_two_plus_two_resumed_steps_equal_four_steps(data_root, tmp_path, aug):
    # 6 training samples, batch 2: 3 steps per epoch, so the resume point lies inside epoch 0 and
    # the run crosses into epoch 1 (a new shuffle) after it; augmentations are drawn again the same
    full = weights(train.main(tiny(data_root, tmp_path / "a", "--train.max_steps=4", "--train.val_interval=0", *aug)))
    train.main(tiny(data_root, tmp_path / "b", "--train.max_steps=2", "--train.val_interval=0", *aug))
    resumed = train.main(tiny(data_root, tmp_path / "b2", "--train.max_steps=4", "--train.val_interval=0", *aug,
                              f"--train.resume={tmp_path / 'b' / 'last.pt'}"))
    assert resumed.step == 4
    other = weights(resumed)
    for k in full:
        torch.testing.assert_close(full[k], other[k], rtol=0, atol=0, msg=k)
    # and the run did move the weights
    fresh = build_model("resnet18", "logits", weights="none").state_dict()
    torch.manual_seed(0)
    assert any(not torch.equal(full[k], fresh[k]) for k in full if k.endswith("weight"))


def test_run_folder_checkpoints_and_validation(data_root, tmp_path):
    out = tmp_path / "run"
    train.main(tiny(data_root, out, "--train.max_steps=3", "--train.val_interval=2", "--train.ckpt_interval=2"))
    for name in ("config.yaml", "train.log", "metrics.jsonl", "last.pt", "best.pt", "loss.png"):
        assert (out / name).is_file(), name
    ckpt = load_checkpoint(out / "last.pt")
    assert set(REQUIRED_KEYS) <= set(ckpt) and ckpt["step"] == 3
    assert load_config(out / "config.yaml") == tiny(data_root, out, "--train.max_steps=3", "--train.val_interval=2",
                                                    "--train.ckpt_interval=2")
    entries = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    train_entries = [e for e in entries if e["kind"] == "train"]
    val_entries = [e for e in entries if e["kind"] == "val"]
    assert [e["step"] for e in train_entries] == [1, 2, 3]
    assert {"loss", "self", "pairwise", "triplewise", "lr", "crops_per_s"} <= set(train_entries[0])
    assert [e["step"] for e in val_entries] == [2, 3]  # every val_interval steps and at the end
    # the default choice reads no identity: the self-supervised validation loss decides, and the
    # association accuracy (identities) is only logged
    assert all(e["val_assoc_acc"] is not None for e in val_entries)
    best = min(val_entries, key=lambda e: e["val_loss"])
    assert ckpt["best"]["metric"] == "val_loss" and ckpt["best"]["value"] == best["val_loss"]
    assert load_checkpoint(out / "best.pt")["step"] == ckpt["best"]["step"] == best["step"]
    # a new run in the same folder starts a new metrics.jsonl (the plot shows one run)
    train.main(tiny(data_root, out, "--train.max_steps=1", "--train.val_interval=0"))
    entries = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [(e["kind"], e["step"]) for e in entries] == [("train", 1), ("epoch", 1), ("val", 1)]


def test_checkpoint_by_training_loss_per_epoch_as_released(data_root, tmp_path):
    # no frame held out: 8 samples, batch 2 -> 4 steps an epoch; 6 steps = one epoch and a part
    out = tmp_path / "run"
    trainer = train.main(tiny(data_root, out, "--train.max_steps=6", "--train.val_interval=0",
                              "--data.val_fraction=0", "--train.select=train_loss"))
    assert trainer.val_set is None and trainer.steps_per_epoch == 4
    entries = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    losses = [e["loss"] for e in entries if e["kind"] == "train"]  # log_interval 1: one per step
    epochs = [e for e in entries if e["kind"] == "epoch"]
    assert [e["step"] for e in epochs] == [4, 6] and not any(e["kind"] == "val" for e in entries)
    assert epochs[0]["train_loss"] == pytest.approx(sum(losses[:4]) / 4, rel=1e-12)
    assert epochs[1]["train_loss"] == pytest.approx(sum(losses[4:]) / 2, rel=1e-12)
    lowest = min(epochs, key=lambda e: e["train_loss"])
    best = load_checkpoint(out / "last.pt")["best"]
    assert best == {"metric": "train_loss", "value": lowest["train_loss"], "step": lowest["step"]}
    assert load_checkpoint(out / "best.pt")["step"] == lowest["step"]


def test_identity_based_choice_only_when_asked(data_root, tmp_path):
    out = tmp_path / "acc"
    train.main(tiny(data_root, out, "--train.max_steps=3", "--train.val_interval=1", "--train.select=val_assoc_acc"))
    val = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    val = [e for e in val if e["kind"] == "val"]
    best = load_checkpoint(out / "last.pt")["best"]
    assert best["metric"] == "val_assoc_acc" and best["value"] == max(e["val_assoc_acc"] for e in val)
    # a rule that needs held-out frames, without any: an error before training starts
    with pytest.raises(ValueError, match="train.select=val_loss needs held-out frames"):
        train.main(tiny(data_root, tmp_path / "x", "--train.max_steps=1", "--data.val_fraction=0"))


@pytest.mark.parametrize("name", ["release", "paper"])
def test_release_and_paper_configs_train(name, tmp_path, monkeypatch):
    """configs/release.yaml and paper.yaml train as they are (per-image forward, BGR 0-255 pixels,
    position ranges, checkpoint by training loss), on frames numbered from 1 as MvMHAT's scenes
    1-6, with stand-in ImageNet weights in an empty torch cache and 64x64 crops (speed only)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "hub"))
    path = imagenet_weights_path("resnet50")
    path.parent.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(build_model("resnet50", "logits").backbone.state_dict(), path)
    root = write_toy_dataset(tmp_path / "data", views=("1", "2"), frames=range(1, 9), train=(0, 4), test=(4, 8),
                             size=(96, 64))
    cfg = load_config(f"configs/{name}.yaml", [f"--data.root={root}", "--data.manifest=none", "--train.device=cpu",
                                               "--train.max_steps=2", f"--train.out_dir={tmp_path / 'run'}",
                                               "--data.crop_height=64", "--data.crop_width=64",
                                               "--data.num_workers=0", "--train.log_interval=1"])
    trainer = train.main(cfg)
    assert trainer.val_set is None and trainer.train_set.samples == [("1", ("1", "2"), (1, 2)), ("1", ("1", "2"), (3, 4))]
    assert trainer.model.backbone.bn1.num_batches_tracked.item() == 2 * 4  # one pass per image, 4 images a step
    best = load_checkpoint(tmp_path / "run" / "best.pt")
    assert best["best"]["metric"] == "train_loss" and best["config"]["data"]["pixels"] == "bgr255"
    assert best["config"]["loss"]["self_weight"] == (0.0 if name == "release" else 1.0)


def test_bad_checkpoint_is_a_clear_error(tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(RuntimeError, match="cannot read checkpoint .*junk.pt"):
        load_checkpoint(tmp_path / "junk.pt")
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "missing.pt")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank, world, port, root, out):
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    trainer = train.main(tiny(root, out, "--train.max_steps=3", "--train.val_interval=0", "--train.device=cpu",
                              f"--train.seed={rank * 0}"))
    torch.save(trainer.model.state_dict(), f"{out}/rank{rank}.pt")


def test_ddp_two_cpu_processes_hold_identical_weights(data_root, tmp_path):
    out = tmp_path / "ddp"
    mp.spawn(_ddp_worker, args=(2, _free_port(), str(data_root), str(out)), nprocs=2, join=True)
    a, b = torch.load(out / "rank0.pt"), torch.load(out / "rank1.pt")
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, msg=k)
    assert load_checkpoint(out / "last.pt")["step"] == 3  # 6 samples / (2 ranks x 2) -> 2 steps an epoch


def test_lr_schedule():
    assert [lr_factor(s, 10, warmup_steps=2) for s in (0, 1, 2, 9)] == [0.5, 1.0, 1.0, 1.0]
    assert lr_factor(2, 10, 2, "cosine") == 1.0 and lr_factor(6, 10, 2, "cosine") == pytest.approx(0.5)
    assert lr_factor(10, 10, 2, "cosine") == pytest.approx(0.0)


def test_association_counts_hand_case():
    # 2 views x 1 frame; view 0 has ids 1, 2; view 1 has ids 2, 1 (swapped order) and features to match
    f = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]]).numpy()
    mask = torch.ones(2, 2, dtype=torch.bool).numpy()
    ids = torch.tensor([[1, 2], [2, 1]]).numpy()
    assert association_counts(f, mask, ids, frames=1) == (2, 2)
    ids_wrong = torch.tensor([[1, 2], [1, 2]]).numpy()
    assert association_counts(f, mask, ids_wrong, frames=1) == (0, 2)


@pytest.mark.parametrize("backbone, head, dim", [("resnet18", "logits", 1000), ("resnet18", "pool", 512),
                                                 ("resnet34", "linear", 64), ("resnet50", "pool", 2048)])
def test_heads_give_unit_embeddings(backbone, head, dim):
    model = build_model(backbone, head, embed_dim=64).eval()
    with torch.no_grad():
        y = model(torch.randn(2, 3, 64, 32))
    assert y.shape == (2, dim) and model.dim == dim
    torch.testing.assert_close(y.norm(dim=1), torch.ones(2))


def test_weights_from_local_files(tmp_path, monkeypatch):
    src = build_model("resnet18", "logits")
    torch.save(src.backbone.state_dict(), tmp_path / "tv.pth")  # torchvision format
    for head in ("logits", "pool", "linear"):
        m = build_model("resnet18", head, weights=str(tmp_path / "tv.pth"))
        torch.testing.assert_close(m.backbone.conv1.weight, src.backbone.conv1.weight)
    torch.save({"model": src.state_dict()}, tmp_path / "ours.pt")  # one of our checkpoints
    torch.testing.assert_close(build_model("resnet18", weights=str(tmp_path / "ours.pt")).backbone.fc.weight,
                               src.backbone.fc.weight)
    with pytest.raises(WeightsError, match="does not fit resnet34"):
        build_model("resnet34", weights=str(tmp_path / "tv.pth"))
    with pytest.raises(WeightsError, match="weights file not found"):
        build_model("resnet18", weights=str(tmp_path / "nope.pth"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "hub"))  # an empty torch cache: no download, clear error
    with pytest.raises(WeightsError, match=r"not in the local cache \(nothing is downloaded\): put resnet18-.*\.pth"):
        build_model("resnet18", weights="imagenet")
    path = imagenet_weights_path("resnet18")
    path.parent.mkdir(parents=True)
    torch.save(src.backbone.state_dict(), path)
    torch.testing.assert_close(build_model("resnet18", weights="imagenet").backbone.conv1.weight,
                               src.backbone.conv1.weight)


def test_unknown_backbone_lists_valid_names():
    with pytest.raises(KeyError, match=r"unknown backbone 'vgg'; valid: \['resnet10', 'resnet18', 'resnet34', 'resnet50', 'vit_s16'\]"):
        build_model("vgg")


def test_resnet10_is_resnet18_with_one_block_per_stage():
    small, big = build_model("resnet10", "linear", 16), build_model("resnet18", "linear", 16)
    assert [len(getattr(small.backbone, f"layer{i}")) for i in range(1, 5)] == [1, 1, 1, 1]
    assert small(torch.rand(3, 3, 64, 32)).shape == (3, 16)
    assert sum(p.numel() for p in small.parameters()) < 0.5 * sum(p.numel() for p in big.parameters())
    with pytest.raises(WeightsError, match="resnet10 has no ImageNet weights"):
        build_model("resnet10", weights="imagenet")


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_mixed_precision_step_on_cpu_autocast(amp):
    """The CUDA code path (autocast, GradScaler for fp16, channels_last), run with CPU autocast.

    64x32 crops (the demo's), not smaller: at 32x16 ResNet-18's layer4 sees 2x1 maps, and oneDNN's
    bf16 backward-weights kernel for that 3x3 stride-2 convolution on AVX-512 CPUs reads memory it
    never wrote, so its gradient is now and then NaN (about 1 step in 30, more when freed memory held
    0xff bytes), depending on what the process allocated before.
    """
    from engine.trainer import optimisation_step
    from models.losses import MvMHATLoss
    torch.manual_seed(0)
    model = build_model("resnet18", "linear", embed_dim=16).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 4, enabled=amp == "fp16")
    images = torch.randint(0, 256, (2, 4, 3, 3, 64, 32), dtype=torch.uint8)
    mask = torch.ones(2, 4, 3, dtype=torch.bool)
    mask[1, :, 2] = False
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    terms = optimisation_step(model, MvMHATLoss(), opt, scaler, images, mask, torch.device("cpu"), amp,
                              channels_last=True)
    assert all(torch.isfinite(v) for v in terms.values()) and terms["loss"].dtype == torch.float32
    assert terms["loss"] > 0.1, terms  # random crops: people not yet told apart
    for k, p in model.named_parameters():  # every gradient finite, every weight moved
        assert p.grad is not None and torch.isfinite(p.grad).all(), k
        assert not torch.equal(before[k], p), k
    assert model.backbone.fc.weight.grad.abs().max() > 0
    if amp == "fp16":
        assert scaler.get_scale() == 2.0 ** 4  # the loss was scaled, and the gradients were finite
