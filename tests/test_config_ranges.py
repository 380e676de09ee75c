"""Numeric settings outside their range are config errors naming the key and the allowed range,
before any work starts (nothing written)."""
import dataclasses

import pytest

from config import RANGES, Config, ConfigError, load_config
from datasets.toy import write_toy_dataset


@pytest.mark.parametrize("override, message", [
    ("--train.max_steps=-3", "train.max_steps: -3 is out of range; allowed: >= 0"),
    ("--data.crop_height=0", "data.crop_height: 0 is out of range; allowed: >= 1"),
    ("--train.lr=-1", "train.lr: -1.0 is out of range; allowed: > 0"),
    ("--train.lr=0", "train.lr: 0.0 is out of range; allowed: > 0"),
    ("--data.val_fraction=1", "data.val_fraction: 1.0 is out of range; allowed: [0, 1)"),
    ("--loss.delta=1", "loss.delta: 1.0 is out of range; allowed: (0, 1)"),
    ("--track.max_iou_distance=1.5", "track.max_iou_distance: 1.5 is out of range; allowed: [0, 1]"),
    ("--track.nn_budget=0", "track.nn_budget: 0 is out of range; allowed: >= 1"),
    ("--train.seed=-1", "train.seed: -1 is out of range; allowed: [0, 4294967295]"),
    ("--train.lr=nan", "train.lr: nan is out of range"),
])
def test_out_of_range_override_names_key_and_range(override, message):
    with pytest.raises(ConfigError) as err:
        load_config(None, [override])
    assert message in str(err.value)


def test_out_of_range_in_a_file_names_the_file(tmp_path):
    (tmp_path / "c.yaml").write_text("data:\n  crop_width: -8\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: data\.crop_width: -8 is out of range; allowed: >= 1"):
        load_config(tmp_path / "c.yaml")


def test_bounds_themselves_and_none_are_allowed():
    cfg = load_config(None, ["--train.max_steps=0", "--data.val_fraction=0", "--track.nn_budget=none",
                             "--track.max_cosine_distance=2", "--data.num_workers=0"])
    assert cfg.train.max_steps == 0 and cfg.track.nn_budget is None


def test_every_range_names_a_numeric_field_whose_default_is_inside():
    cfg = Config()
    for key, allowed in RANGES.items():
        section, name = key.split(".")
        assert name in {f.name for f in dataclasses.fields(getattr(cfg, section))}, key
        value = getattr(getattr(cfg, section), name)
        assert value is None or value in allowed, (key, value, str(allowed))


def test_bad_crop_size_leaves_no_cache_folder(tmp_path):
    root = write_toy_dataset(tmp_path / "data")
    with pytest.raises(ConfigError, match="data.crop_height"):
        load_config(None, [f"--data.root={root}", "--data.crop_height=0", f"--train.out_dir={tmp_path / 'run'}"])
    assert not (root / ".crop_cache").exists() and not (tmp_path / "run").exists()
