"""Released weight files: realgump/MvMHAT's ``{'model': state_dict}`` of a torchvision ResNet and a
plain torchvision state dict load for training (``--model.weights``) and tracking
(``--checkpoint``); anything else is an error saying what was expected. ResNet-18 files stand in
for the released ResNet-50 (the same code path; the architecture is read from the keys)."""
import json

import pytest
import torch
import torch.nn.functional as F
import torchvision

from config import ModelConfig
from engine.checkpoint import CheckpointError, load_model
from models.embedding import ARCHITECTURES, WeightsError, build_model, resnet_name, torchvision_state


@pytest.fixture(scope="module")
def reference():
    torch.manual_seed(5)
    return torchvision.models.resnet18().eval()


def realgump_file(path, net):
    """What realgump/MvMHAT's train.py saves: epoch, loss, optimizer state and the model's state dict."""
    opt = torch.optim.Adam(net.parameters(), lr=1e-5)
    torch.save({"epoch": 3, "loss": 0.25, "optimizer": opt.state_dict(), "model": net.state_dict()}, path)
    return path


def same_backbone(model, net):
    theirs = net.state_dict()
    for k, v in model.backbone.state_dict().items():
        assert torch.equal(v, theirs[k]), k


@pytest.mark.parametrize("kind", ["realgump", "plain", "dataparallel", "journal"])
def test_training_weights_from_released_files(tmp_path, reference, kind):
    path = tmp_path / "w.pth"
    if kind == "realgump":
        realgump_file(path, reference)
    elif kind == "plain":
        torch.save(reference.state_dict(), path)
    elif kind == "journal":  # MvMHAT++'s training checkpoint: backbone and STAN in one state dict
        torch.save({"model": {**{f"feature_extractor.{k}": v for k, v in reference.state_dict().items()},
                              "dhn_model.fc1.weight": torch.zeros(32, 1)}}, path)
    else:
        torch.save({f"module.{k}": v for k, v in reference.state_dict().items()}, path)
    same_backbone(build_model("resnet18", "logits", weights=str(path)), reference)
    pooled = build_model("resnet18", "linear", 16, weights=str(path))  # our head replaces the classifier
    assert torch.equal(pooled.backbone.layer4[1].conv2.weight, reference.layer4[1].conv2.weight)
    with pytest.raises(WeightsError, match=rf"{path} does not fit resnet34: it holds a torchvision resnet18; "
                                           rf"set --model.backbone=resnet18"):
        build_model("resnet34", weights=str(path))


def test_tracking_network_from_a_realgump_file_embeds_as_torchvision_does(tmp_path, reference):
    path = realgump_file(tmp_path / "model.pth", reference)
    net = load_model(str(path), ModelConfig(), (32, 16), seed=0, pixels="bgr255")
    assert net.desc["backbone"] == "resnet18" and net.desc["head"] == "logits"  # read from the file's keys
    assert net.crop_size == (32, 16) and net.pixels == "bgr255"  # the file stores neither: the config's
    x = torch.rand(3, 3, 32, 16, generator=torch.Generator().manual_seed(1))
    net.model.eval()
    with torch.no_grad():
        torch.testing.assert_close(net.model(x), F.normalize(reference(x), dim=1))
    plain = tmp_path / "plain.pth"
    torch.save(reference.state_dict(), plain)
    other = load_model(str(plain), ModelConfig(), (32, 16), seed=0)
    same_backbone(other.model, reference)
    assert other.sha != net.sha  # cached features follow the file


def test_architecture_read_from_the_keys():
    for name in ("resnet10", "resnet18", "resnet34", "resnet50"):  # resnet50 in memory only, no file
        sd = build_model(name, "logits").backbone.state_dict()
        assert resnet_name(torchvision_state(sd), "x") == name
    assert set(ARCHITECTURES) == {"resnet10", "resnet18", "resnet34", "resnet50"}
    odd = torchvision.models.ResNet(torchvision.models.resnet.BasicBlock, [1, 2, 1, 1]).state_dict()
    with pytest.raises(WeightsError, match=r"x: a torchvision ResNet with basic blocks \[1, 2, 1, 1\] per stage"):
        resnet_name(odd, "x")


@pytest.mark.parametrize("content, holds", [
    ({"foo": torch.zeros(1)}, "a dict with keys ['foo']"),
    ({"model": {"conv1.weight": torch.zeros(1)}}, "a dict with keys ['model']"),  # no layer4: no ResNet
    (torch.zeros(3), "a Tensor"),
])
def test_a_file_that_fits_neither_says_what_was_expected(tmp_path, content, holds):
    path = tmp_path / "odd.pth"
    torch.save(content, path)
    expected = ("expected a checkpoint of train.py (a dict whose 'model' has keys backbone.*); or a released MvMHAT "
                "file ({'model': state dict of a torchvision ResNet}, as realgump/MvMHAT's train.py saves it); or a "
                "torchvision ResNet state dict")
    with pytest.raises(WeightsError) as err:
        build_model("resnet18", weights=str(path))
    assert f"{path} is not a weights file this code reads: {expected}" in str(err.value)
    assert f"it holds {holds}" in str(err.value)
    with pytest.raises(CheckpointError) as err:
        load_model(str(path), ModelConfig(), (32, 16), seed=0)
    assert f"{path} is not a checkpoint this code reads: {expected}" in str(err.value)


def test_a_classifier_of_another_size_is_named(tmp_path):
    path = tmp_path / "reid.pth"
    torch.save(torchvision.models.resnet18(num_classes=10).state_dict(), path)
    with pytest.raises(CheckpointError, match=r"reid\.pth: a torchvision resnet18 state dict that does not fit"):
        load_model(str(path), ModelConfig(), (32, 16), seed=0)
    with pytest.raises(WeightsError, match=r"reid\.pth does not fit resnet18/logits: Error\(s\) in loading state_dict for ResNet: size mismatch for fc.weight"):
        build_model("resnet18", "logits", weights=str(path))
    build_model("resnet18", "pool", weights=str(path))  # the pooled head does not use the classifier


def test_inference_and_training_entry_points_take_a_realgump_file(tmp_path, reference):
    import inference
    import train
    from config import load_config
    from datasets.toy import write_toy_dataset

    root = write_toy_dataset(tmp_path / "data", frames=range(8), train=(0, 6), test=(6, 8))
    path = realgump_file(tmp_path / "model.pth", reference)
    args, rest = inference.parse_args(["--checkpoint", str(path), "--out", str(tmp_path / "out")])
    cfg = load_config("configs/release.yaml", [f"--data.root={root}", "--data.num_workers=0", "--train.device=cpu",
                                               "--data.crop_height=32", "--data.crop_width=16", *rest])
    inference.main(cfg, args)
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["config"]["model"]["backbone"] == "resnet18" and run["results"] == ["1_1.txt", "1_2.txt"]
    trainer = train.main(load_config(None, [
        f"--data.root={root}", f"--train.out_dir={tmp_path / 'run'}", "--model.backbone=resnet18",
        f"--model.weights={path}", "--data.crop_height=32", "--data.crop_width=16", "--data.num_workers=0",
        "--data.views=2", "--data.val_fraction=0", "--data.crop_cache=false", "--train.select=train_loss",
        "--train.max_steps=1", "--train.device=cpu", "--train.val_interval=0", "--train.lr=1e-9"]))
    assert trainer.step == 1
    # lr 1e-9: one Adam step moves a weight by about 1e-9, so the released weights are what it trained from
    for name in ("conv1.weight", "layer2.0.conv1.weight", "fc.weight"):
        torch.testing.assert_close(trainer.model.backbone.state_dict()[name], reference.state_dict()[name],
                                   rtol=0, atol=1e-6)
