"""bench/gpu_check.sh's CPU dry run (so the GPU script cannot rot), its choices, and train.compile."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import train
from bench.environment import project_modules
from datasets.toy import write_toy_dataset
from engine.checkpoint import load_checkpoint
from engine.trainer import compile_backbone, optimisation_step
from models.embedding import build_model
from models.losses import MvMHATLoss
from tools import reproduce
from tools.training_rows import ROWS as TRAINING_ROWS, training_rows

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "gpu_check.sh"
STEPS = ("environment", "cuda_tests", "train", "embed", "loss", "vit", "stan", "prepare", "rows", "compile")


def summary_of(stdout: str) -> str:
    assert "==== GPU check summary" in stdout, stdout[-3000:]
    return stdout[stdout.rindex("==== GPU check summary"):]


def test_dry_run_on_the_cpu_without_motmetrics(tmp_path):
    """The whole script at tiny sizes, with a Python for which ``import motmetrics`` fails (as on
    the lent GPU machine): every step passes, the summary comes last, at most 8 files come back."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "motmetrics.py").write_text('raise ImportError("motmetrics is not installed here (test shim)")\n')
    env = dict(os.environ, PY=sys.executable, OUT=str(tmp_path / "out"), GPU_CHECK_WORK=str(tmp_path / "work"),
               PYTHONPATH=str(shim), OMP_NUM_THREADS="1")
    env.pop("GPU_CHECK_DEVICE", None)
    proc = subprocess.run(["bash", str(SCRIPT), "--cpu"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=2400)  # a safety net: the script stops itself within its budget
    summary = summary_of(proc.stdout)
    assert proc.returncode == 0, summary + proc.stderr[-3000:]
    assert proc.stdout.rstrip().endswith(summary.rstrip())  # the summary is the last thing printed
    for step in STEPS:
        assert f"  {step} " in summary and f"  {step.ljust(12)} ok" in summary, step
    assert "imports: " in summary and "all fine" in summary
    assert "train step: ours" in summary and "compiled train step (eager): ours" in summary
    assert "train step, per_image forward (the release's): ours" in summary
    assert "embed: ours" in summary and "loss fwd+bwd: vectorised" in summary
    assert "vit_s16, 32x32 crops" in summary and "held-out assignment F1 on 2 matrices: STAN" in summary
    assert "DDP: not measured" in summary
    out = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(out) <= 8 and {"gpu_check.log", "summary.txt", "rows_tables.md"} <= set(out), out
    assert (tmp_path / "out" / "summary.txt").read_text().strip() == summary.strip()
    tables = (tmp_path / "out" / "rows_tables.md").read_text()
    assert "DRY RUN" in tables and "| release |" in tables and "| paper: release + self-similarity |" in tables
    assert "| this project's training |" not in tables and "## Method" not in tables  # only the headline rows
    assert {"release.train.log", "paper_release__self_similarity.train.log"} <= set(out)


def test_python_choice_and_failures_are_reported(tmp_path):
    """No .venv: python3 from PATH; with one: .venv/bin/python. A failing Python fails every step, a
    hanging one is stopped by the time limits, and the summary still comes last, exit status 1."""
    repo = tmp_path / "repo"
    (repo / "bench").mkdir(parents=True)
    shutil.copy(SCRIPT, repo / "bench" / "gpu_check.sh")
    fake = tmp_path / "bin"
    fake.mkdir()
    calls = tmp_path / "calls.txt"
    (fake / "python3").write_text(f'#!/bin/sh\necho "python3 $*" >> {calls}\nexit 3\n')
    (fake / "python3").chmod(0o755)
    env = dict(os.environ, PATH=f"{fake}:{os.environ['PATH']}", OUT=str(tmp_path / "out"),
               GPU_CHECK_WORK=str(tmp_path / "work"), GPU_CHECK_DEVICE="cpu")
    env.pop("PY", None)
    proc = subprocess.run(["bash", "bench/gpu_check.sh"], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=120)
    summary = summary_of(proc.stdout)
    assert proc.returncode == 1 and "SOME STEP FAILED" in summary
    assert "python: python3" in summary and "FAILED (exit 3)" in summary
    assert "python3 -m bench.environment" in calls.read_text()
    # with a .venv, its python; a step that hangs is stopped at the budget, and the rest are skipped
    (repo / ".venv" / "bin").mkdir(parents=True)
    hangs = repo / ".venv" / "bin" / "python"
    hangs.write_text('#!/bin/sh\ncase "$*" in *bench.environment*) exec sleep 120;; esac\nexit 3\n')
    hangs.chmod(0o755)
    proc = subprocess.run(["bash", "bench/gpu_check.sh"], cwd=repo, env=dict(env, GPU_CHECK_BUDGET_S="11"),
                          capture_output=True, text=True, timeout=120)
    summary = summary_of(proc.stdout)
    assert "python: .venv/bin/python" in summary and proc.returncode == 1
    assert "environment  TIMED OUT after 11 s" in summary
    for step in ("cuda_tests", "train", "embed", "loss", "rows", "compile"):
        assert f"{step.ljust(12)} skipped: budget spent" in summary, step


def test_bad_device_is_a_clear_error(tmp_path):
    env = dict(os.environ, GPU_CHECK_DEVICE="tpu", OUT=str(tmp_path / "out"))
    proc = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "GPU_CHECK_DEVICE must be cuda or cpu" in proc.stderr
    proc = subprocess.run(["bash", str(SCRIPT), "--gpu"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "usage" in proc.stderr


def test_reproduce_rows_must_be_named_rows():
    args = reproduce.parse_args(["--row", "release", "--row", "paper: release + self-similarity",
                                 "--row", "all three (paper)"])
    assert args.row == ["release", "paper: release + self-similarity", "all three (paper)"]
    with pytest.raises(SystemExit):
        reproduce.parse_args(["--row", "paper"])


def test_training_rows_only_the_named_ones(tmp_path):
    cfg, _ = reproduce.base_config("gpu", tmp_path / "data", tmp_path / "out")
    setup, _ = reproduce.dataset_setup("gpu", tmp_path / "data", "resnet50", "imagenet")
    train = reproduce.PROFILES["gpu"]["train"]
    rows = training_rows("gpu", cfg, setup, train, ["paper: release + self-similarity", "release"])
    assert [name for name, _, _ in rows] == ["release", "paper: release + self-similarity"]  # in table order
    assert len(training_rows("gpu", cfg, setup, train)) == len(TRAINING_ROWS) > 2


def test_environment_lists_every_project_module():
    names = project_modules()
    assert {"train", "inference", "eval", "config", "engine.trainer", "metrics.motmetrics_backend",
            "datasets.synthetic.generate", "bench.gpu_rows"} <= set(names)
    assert not any(n.startswith("tests") or n.endswith("__main__") for n in names)


@pytest.fixture(scope="module")
def toy_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("compile") / "data"
    return write_toy_dataset(root, views=("1", "2"), frames=range(12), train=(0, 10), test=(10, 12), size=(96, 64))


def test_train_compile_compiles_the_backbone_in_place(toy_root, tmp_path, monkeypatch):
    """train.compile=true hands the backbone to torch.compile (recorded here, not run: inductor on
    a CPU takes minutes); parameter names stay, so checkpoints load into uncompiled models."""
    calls = []

    def fake_compile(fn, **kwargs):
        calls.append((fn, kwargs))
        return fn

    monkeypatch.setattr(torch, "compile", fake_compile)
    common = [f"--data.root={toy_root}", "--model.backbone=resnet10", "--model.weights=none",
              "--data.crop_height=32", "--data.crop_width=16", "--data.num_workers=0", "--train.max_steps=1",
              "--train.val_interval=0", "--data.val_fraction=0", "--train.select=train_loss", "--train.batch_size=2"]
    trainer = train.main(train.load_config(None, common + [f"--train.out_dir={tmp_path / 'a'}"]))
    assert calls == [] and trainer.step == 1
    trainer = train.main(train.load_config(None, common + [f"--train.out_dir={tmp_path / 'b'}",
                                                           "--train.compile=true"]))
    assert trainer.step == 1 and len(calls) == 1
    fn, kwargs = calls[0]
    assert fn.__self__ is trainer.model.backbone and kwargs == {"backend": "inductor"}
    saved = load_checkpoint(tmp_path / "b" / "last.pt")["model"]
    assert list(saved) == list(build_model("resnet10", "logits").state_dict())
    # per-image BatchNorm splits the crops anew every step: compiling would recompile every step
    with pytest.raises(ValueError, match="train.compile=true needs train.forward=batched"):
        train.main(train.load_config(None, common + [f"--train.out_dir={tmp_path / 'c'}", "--train.compile=true",
                                                     "--train.forward=per_image"]))
    assert len(calls) == 1


def test_compiled_step_equals_the_eager_step():
    """A real torch.compile (the eager backend: graph capture without code generation) gives the
    same step as no compilation."""
    torch.manual_seed(0)
    images = torch.randint(0, 256, (1, 8, 2, 3, 32, 32), dtype=torch.uint8)
    mask = torch.ones(1, 8, 2, dtype=torch.bool)
    mask[0, 3, 1] = False
    terms = []
    for compiled in (False, True):
        torch.manual_seed(1)
        model = build_model("resnet10", "logits")
        if compiled:
            compile_backbone(model, backend="eager")
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        scaler = torch.amp.GradScaler("cpu", enabled=False)
        out = optimisation_step(model, MvMHATLoss(), opt, scaler, images, mask, torch.device("cpu"))
        terms.append((out, [p.detach().clone() for p in model.parameters()]))
    (eager, w_eager), (comp, w_comp) = terms
    for k in eager:
        torch.testing.assert_close(comp[k], eager[k], msg=k)
    for a, b in zip(w_eager, w_comp):
        torch.testing.assert_close(a, b)
