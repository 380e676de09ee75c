"""The journal profile trains: configs/journal.yaml on a tiny synthetic dataset, backbone and
STAN together; the STAN weights move, the checkpoint holds them and the tracker can load them."""
import pytest
import torch

import train
from config import ConfigError, load_config
from datasets.synthetic.generate import generate_dataset
from engine.checkpoint import load_checkpoint
from engine.training_run import build_loss
from models.stan import STAN, load_stan, save_stan


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("journal") / "data"
    generate_dataset(root, scenes=1, views=2, frames=30, people=(3, 3), size=(160, 96), seed=2, progress=False)
    return root


def tiny(root, out, *extra):
    return load_config("configs/journal.yaml", [
        f"--data.root={root}", f"--train.out_dir={out}", "--train.device=cpu", "--model.weights=none",
        "--model.backbone=resnet18", "--data.crop_height=32", "--data.crop_width=16", "--data.num_workers=0",
        "--data.views=2", "--data.val_fraction=0.3", "--train.log_interval=1", "--train.lr=1e-3", "--train.max_steps=2",
        "--train.val_interval=0", *extra])


@pytest.mark.parametrize("variant", ["fc", "transformer"])
def test_journal_profile_trains_backbone_and_stan(data_root, tmp_path, variant):
    start = STAN(variant)
    save_stan(tmp_path / "start.pt", start, {"test": True})
    trainer = train.main(tiny(data_root, tmp_path / "run", f"--model.stan={variant}",
                              f"--model.stan_weights={tmp_path / 'start.pt'}"))
    assert trainer.step == 2
    assert trainer.terms == ("loss", "self", "pairwise", "triplewise", "focal", "symmetry", "nuclear", "sum")
    trained = trainer.loss_fn.stan.state_dict()
    assert any(not torch.equal(v, start.state_dict()[k]) for k, v in trained.items())  # STAN was trained
    state = load_checkpoint(tmp_path / "run" / "last.pt")
    assert state["config"]["model"]["stan"] == variant
    stan, meta = load_stan(tmp_path / "run" / "last.pt")  # the tracker's stan mode reads it
    for k, v in stan.state_dict().items():
        assert torch.equal(v, trained[k].cpu())
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert '"focal"' in lines[0] and '"nuclear"' in lines[0]


def test_inconsistent_journal_settings_are_config_errors(tmp_path):
    cfg = load_config("configs/journal.yaml", ["--loss.transitive=conference"])
    with pytest.raises(ConfigError, match="transitive"):
        build_loss(cfg)
    cfg = load_config("configs/journal.yaml", ["--model.stan=none", f"--model.stan_weights={tmp_path}/x.pt"])
    with pytest.raises(ConfigError, match="stan_weights"):
        build_loss(cfg)
    save_stan(tmp_path / "fc.pt", STAN("fc"), {})
    cfg = load_config("configs/journal.yaml", [f"--model.stan_weights={tmp_path}/fc.pt"])
    with pytest.raises(ConfigError, match="holds a fc STAN"):
        build_loss(cfg)
    with pytest.raises(ConfigError, match="model.stan"):
        load_config("configs/journal.yaml", ["--model.stan=gnn"])
    with pytest.raises(ConfigError, match="relaxed_margin"):
        load_config("configs/journal.yaml", ["--loss.relaxed_margin=-1"])


def test_resumed_journal_run_equals_an_uninterrupted_one(data_root, tmp_path):
    # the STAN's weights and its Adam state travel in the checkpoint (loss_state)
    full = train.main(tiny(data_root, tmp_path / "a", "--model.stan=fc", "--train.max_steps=3"))
    train.main(tiny(data_root, tmp_path / "b", "--model.stan=fc", "--train.max_steps=2"))
    resumed = train.main(tiny(data_root, tmp_path / "c", "--model.stan=fc", "--train.max_steps=3",
                              f"--train.resume={tmp_path / 'b' / 'last.pt'}"))
    assert resumed.step == 3
    for k, v in full.loss_fn.state_dict().items():
        torch.testing.assert_close(resumed.loss_fn.state_dict()[k], v, rtol=0, atol=0, msg=k)
    for k, v in full.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[k], v, rtol=0, atol=0, msg=k)
