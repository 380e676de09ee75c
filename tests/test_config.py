from pathlib import Path

import pytest
import yaml

from config import Config, ConfigError, TrackConfig, config_to_dict, load_config, save_config

REPO = Path(__file__).resolve().parents[1]


def test_defaults_are_the_paper_setting():
    c = Config()
    assert (c.train.lr, c.data.views, c.data.frames) == (1e-5, 4, 2)
    assert (c.data.crop_height, c.data.crop_width) == (224, 224)
    assert (c.loss.delta, c.loss.epsilon, c.loss.margin) == (0.5, 0.1, 0.5)
    assert (c.track.epsilon, c.track.max_age, c.track.n_init) == (0.5, 80, 3)
    assert (c.track.max_cosine_distance, c.track.max_iou_distance, c.track.renew_interval) == (0.2, 0.7, 30)
    assert c.model.backbone == "resnet50" and c.track.nn_budget is None


def test_release_yaml_is_the_released_training():
    """The values of issue 14's table: the released conference code, point for point."""
    c = load_config(REPO / "configs" / "release.yaml")
    l, d, m, t = c.loss, c.data, c.model, c.train
    assert (l.self_weight, l.pairwise_weight, l.triplewise_weight) == (0.0, 1.0, 1.0)  # two losses
    assert (l.delta, l.epsilon, l.margin, l.transitive) == (0.5, 0.1, 0.5, "conference")
    assert d.pixels == "bgr255" and t.forward == "per_image" and d.ranges == "positions"
    assert (t.lr, t.weight_decay, t.schedule, t.warmup_steps, t.batch_size) == (1e-5, 0.0, "constant", 0, 1)
    assert t.select == "train_loss" and d.val_fraction == 0.0 and d.val_split is None  # all training frames
    assert (m.backbone, m.head, m.weights) == ("resnet50", "logits", "imagenet")
    assert (d.views, d.frames, d.frame_gap, d.sample_stride, d.crop_height, d.crop_width) == (4, 2, 1, 2, 224, 224)
    assert (d.box_jitter, d.colour_jitter, d.mirror, d.boxes) == (0.0, 0.0, False, "gt")
    assert t.amp == "fp16" and t.max_steps == 87000  # fp16 (with a scaler: documented), a fixed length
    assert c.track == TrackConfig(association="release")  # the paper's tracker, released association
    text = (REPO / "configs" / "release.yaml").read_text()
    assert "WITHOUT a gradient scaler" in text and "Not reproduced" in text


def test_paper_yaml_is_the_release_plus_self_similarity():
    release = config_to_dict(load_config(REPO / "configs" / "release.yaml"))
    paper = config_to_dict(load_config(REPO / "configs" / "paper.yaml"))
    differ = {f"{s}.{k}" for s in release for k in release[s] if release[s][k] != paper[s][k]}
    assert differ == {"loss.self_weight", "train.out_dir"}
    assert paper["loss"]["self_weight"] == 1.0


def test_no_default_reads_identities():
    """Training never reads identities; by default neither does the choice of the checkpoint."""
    assert Config().train.select == "val_loss"
    for name in ("release", "paper", "demo"):
        assert load_config(REPO / "configs" / f"{name}.yaml").train.select != "val_assoc_acc", name


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


def test_eval_section_is_what_eval_py_reads():
    """eval.metrics is a comma-separated list of families; the old eval.iou_threshold (read by
    nothing) is gone; eval.stma_iou is STMA's threshold, in [0, 1)."""
    c = load_config(None, ["--eval.metrics=stma,hota", "--eval.stma_iou=0.3"])
    assert (c.eval.metrics, c.eval.stma_iou, c.eval.backend) == ("stma,hota", 0.3, "official")
    assert Config().eval.metrics == "official,cv,hota,stma"
    for bad in ("--eval.metrics=official,mota", "--eval.metrics=,", "--eval.iou_threshold=0.5", "--eval.stma_iou=1"):
        with pytest.raises(ConfigError):
            load_config(None, [bad])
