from pathlib import Path

import pytest
import yaml

from config import Config, ConfigError, DataConfig, load_config, save_config

REPO = Path(__file__).resolve().parents[1]


def test_defaults_are_the_paper_setting():
    c = Config()
    assert (c.train.lr, c.data.views, c.data.frames) == (1e-5, 4, 2)
    assert (c.data.crop_height, c.data.crop_width) == (224, 224)
    assert (c.loss.delta, c.loss.epsilon, c.loss.margin) == (0.5, 0.1, 0.5)
    assert (c.track.epsilon, c.track.max_age, c.track.n_init) == (0.5, 80, 3)
    assert (c.track.max_cosine_distance, c.track.max_iou_distance, c.track.renew_interval) == (0.2, 0.7, 30)
    assert c.model.backbone == "resnet50" and c.track.nn_budget is None


def test_paper_yaml_spells_out_the_defaults():
    c = load_config(REPO / "configs" / "paper.yaml")
    assert c == Config(data=DataConfig(root="data/MvMHAT", manifest="configs/datasets/mvmhat.yaml"))


def test_overrides_are_typed():
    c = load_config(None, ["--train.lr=1e-4", "--track.nn_budget=100", "--data.cache_dir=none",
                           "--train.channels_last=false", "--data.crop_width=128", "--model.weights=/w.pt"])
    assert c.train.lr == 1e-4 and isinstance(c.train.lr, float)
    assert c.track.nn_budget == 100 and c.data.cache_dir is None and c.train.channels_last is False
    assert c.data.crop_width == 128 and c.model.weights == "/w.pt"


def test_override_beats_file(tmp_path):
    (tmp_path / "c.yaml").write_text("train:\n  lr: 2.0e-5\n  max_steps: 7\n")
    c = load_config(tmp_path / "c.yaml", ["--train.max_steps=9"])
    assert c.train.lr == 2e-5 and c.train.max_steps == 9


@pytest.mark.parametrize("overrides, message", [
    (["--train.lrr=1"], "unknown config key 'train.lrr'"),
    (["--nope.lr=1"], "unknown config section 'nope'"),
    (["--train.lr=abc"], "train.lr: expected float, got 'abc'"),
    (["--train.max_steps=1.5"], "train.max_steps: expected int"),
    (["--train.channels_last=maybe"], "train.channels_last: expected bool"),
    (["--train.amp=fp8"], "train.amp: expected one of"),
    (["--track.nn_budget=lots"], "track.nn_budget"),
    (["train.lr=1"], "not of the form --section.key=value"),
    (["--train=1"], "not of the form --section.key=value"),
])
def test_bad_overrides_name_the_key(overrides, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_config(None, overrides)


@pytest.mark.parametrize("text, message", [
    ("train:\n  lrr: 1\n", "unknown config key 'train.lrr'"),
    ("train:\n  max_steps: 2.5\n", "train.max_steps: expected int"),
    ("train:\n  max_steps: true\n", "train.max_steps: expected int"),
    ("data:\n  views: [1, 2]\n", "data.views: expected int"),
    ("train: 3\n", "section 'train' must be a mapping"),
])
def test_bad_yaml_names_file_and_key(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_saved_config_reloads_identically(tmp_path):
    c = load_config(None, ["--train.lr=3e-4", "--track.nn_budget=5", "--data.root=/x"])
    save_config(c, tmp_path / "run" / "config.yaml")
    assert load_config(tmp_path / "run" / "config.yaml") == c
    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["train"]["lr"] == 3e-4


def test_every_field_has_a_comment():
    import dataclasses
    import inspect
    for section in dataclasses.fields(Config):
        source = inspect.getsource(section.default_factory)
        for f in dataclasses.fields(section.default_factory):
            line = next(line for line in source.splitlines() if line.strip().startswith(f"{f.name}:"))
            assert "  # " in line, f"{section.name}.{f.name} has no comment"
