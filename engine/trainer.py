"""The training loop: B samples per step (one forward pass, or one per image), Adam, AMP on CUDA,
DDP, exact resume, one log line per interval, and ``best.pt`` chosen by ``train.select``:

    val_loss       the self-supervised loss on held-out frames (default; no identities read)
    train_loss     the mean training loss of each epoch, on all training frames (the released
                   code's rule; a last, partial epoch counts too)
    val_assoc_acc  the cross-view association accuracy on held-out frames: reads ground-truth
                   identities, for people who have labels (otherwise only logged, a diagnostic)
"""
from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler
from tqdm import tqdm

from engine.augment import CropAugment
from engine.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from engine.distributed import DistInfo, barrier
from engine.embed import embed_batch
from engine.resume import check_resume, truncate_metrics
from engine.schedule import lr_factor
from engine.validation import validate
from loader.samples import collate_samples
from models.losses import TERMS

if TYPE_CHECKING:
    from config import DataConfig, TrainConfig

log = logging.getLogger("train")


class _SkipSampler(Sampler):
    """The indices of ``sampler`` from position ``skip`` on (resuming in the middle of an epoch)."""

    def __init__(self, sampler: Sampler, skip: int):
        self.sampler, self.skip = sampler, skip

    def __iter__(self):
        return iter(list(self.sampler)[self.skip:])

    def __len__(self) -> int:
        return max(0, len(self.sampler) - self.skip)


def compile_backbone(model: torch.nn.Module, backend: str = "inductor") -> None:
    """``torch.compile`` the backbone of an :class:`~models.embedding.EmbeddingNet` in place.

    ``nn.Module.compile`` keeps the parameter names, so checkpoints of a compiled run load into an
    uncompiled model (inference). The number of crops varies from step to step: after the first
    change torch compiles once more with a dynamic batch dimension.
    """
    model.backbone.compile(backend=backend)


def optimisation_step(model: torch.nn.Module, loss_fn: torch.nn.Module, optimizer: torch.optim.Optimizer,
                      scaler: torch.amp.GradScaler, images: torch.Tensor, mask: torch.Tensor,
                      device: torch.device, amp: str = "none", channels_last: bool = False,
                      augment: Optional[CropAugment] = None, pixels: str = "imagenet",
                      forward: str = "batched") -> dict:
    """One step on padded crops ``(B, K, N, 3, H, W)``: forward, loss, backward, update.

    ``augment``: crop augmentation (:mod:`engine.augment`); ``pixels``, ``forward``: see
    :func:`engine.embed.embed_batch`. Returns the loss terms, detached.
    """
    feats = embed_batch(model, images, mask, device, amp, channels_last, augment, pixels, forward)
    terms = loss_fn(feats, mask.to(device))
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(terms["loss"]).backward()
    scaler.step(optimizer)
    scaler.update()
    return {k: v.detach() for k, v in terms.items()}


# train.select (the name of the value compared) -> True if lower is better
LOWER_IS_BETTER = {"val_loss": True, "train_loss": True, "val_assoc_acc": False}


class Trainer:
    """Trains ``model`` with ``loss_fn`` on ``train_set`` as ``cfg``, the run's ``TrainConfig``, says.

    ``data``, the run's ``DataConfig``, gives the DataLoader workers, T (the frames per view of a
    sample: validation pairs images of the same frame), the pixel convention and the training
    crops' augmentation (:class:`CropAugment`, seeded with ``cfg.seed`` plus the rank; none by
    default, as the paper). ``config_dict`` (the resolved run config) is stored in every
    checkpoint. ``val_set`` may be None only with ``cfg.select == "train_loss"``.
    """

    def __init__(self, model: torch.nn.Module, loss_fn: torch.nn.Module, train_set: Dataset,
                 val_set: Optional[Dataset], cfg: TrainConfig, data: DataConfig, config_dict: dict,
                 dist_info: DistInfo, device: torch.device):
        self.cfg, self.config_dict, self.info, self.device = cfg, config_dict, dist_info, device
        self.frames, self.num_workers, self.pixels = data.frames, data.num_workers, data.pixels
        try:
            self.select_key, self.lower_is_better = cfg.select, LOWER_IS_BETTER[cfg.select]
        except KeyError:
            raise KeyError(f"unknown train.select {cfg.select!r}; valid: {sorted(LOWER_IS_BETTER)}") from None
        if cfg.select != "train_loss" and val_set is None:
            raise ValueError(f"train.select={cfg.select} needs held-out frames: set data.val_split or "
                             f"data.val_fraction > 0, or choose train.select=train_loss")
        if cfg.compile and cfg.forward != "batched":
            raise ValueError(f"train.compile=true needs train.forward=batched: with {cfg.forward} the split of "
                             f"the crops into images changes every step, and torch.compile would compile again "
                             f"each step (then give up and run uncompiled)")
        self.augment = CropAugment(data.box_jitter, data.colour_jitter, data.mirror, seed=cfg.seed + dist_info.rank,
                                   device=device)
        self.out_dir = Path(cfg.out_dir)
        self.amp = cfg.amp if device.type == "cuda" else "none"
        self.channels_last = cfg.channels_last
        model = model.to(device)
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        if cfg.compile:
            compile_backbone(model)
        self.model = model
        self.ddp = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None) \
            if dist_info.enabled else model
        self.loss_fn = loss_fn.to(device)
        if dist_info.enabled and any(True for _ in loss_fn.parameters()):
            raise ValueError("a loss with parameters (model.stan) is not trained under DDP here: its gradients "
                             "would not be averaged across processes; train on one process")
        self.terms = tuple(getattr(loss_fn, "terms", TERMS))  # logged and plotted, the weighted sum first
        # a loss with parameters (the journal profile's STAN) is trained with the model
        self.optimizer = torch.optim.Adam(list(model.parameters()) + list(self.loss_fn.parameters()), lr=cfg.lr,
                                          weight_decay=cfg.weight_decay)
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.amp == "fp16")
        self.train_set, self.val_set = train_set, val_set
        self.sampler = DistributedSampler(train_set, num_replicas=dist_info.world_size, rank=dist_info.rank,
                                          shuffle=True, seed=cfg.seed)
        self.steps_per_epoch = math.ceil(len(self.sampler) / cfg.batch_size)
        self.total_steps = cfg.max_steps or cfg.max_epochs * self.steps_per_epoch
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: lr_factor(s, self.total_steps, cfg.warmup_steps, cfg.schedule))
        self.step, self.best = 0, {"metric": None, "value": None}
        self.epoch_loss = [0.0, 0]  # training loss summed over this epoch's steps so far, and their count
        if cfg.resume:
            self._resume(cfg.resume)

    # -- state ------------------------------------------------------------------------------
    def _resume(self, path: str) -> None:
        state = load_checkpoint(path)
        check_resume(state["config"], self.config_dict, path)
        self.model.load_state_dict(state["model"])
        self.loss_fn.load_state_dict(state.get("loss_state") or {})  # absent before losses had parameters
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if state["scaler"] is not None:
            self.scaler.load_state_dict(state["scaler"])
        self.step, self.best = int(state["step"]), state["best"]
        self.epoch_loss = list(state.get("epoch_loss") or [0.0, 0])
        set_rng_state(state["rng"])
        if state.get("augment") is not None:  # None in checkpoints from before augmentation
            self.augment.load_state_dict(state["augment"])
        log.info("resumed from %s at step %d", path, self.step)
        if self.info.is_main:
            truncate_metrics(self.out_dir / "metrics.jsonl", self.step)

    def _save(self, name: str) -> None:
        if not self.info.is_main:
            return
        save_checkpoint(self.out_dir / name, {
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
            "step": self.step, "epoch": self.step // self.steps_per_epoch, "rng": rng_state(),
            "config": self.config_dict, "best": self.best, "epoch_loss": self.epoch_loss,
            "augment": self.augment.state_dict(), "loss_state": self.loss_fn.state_dict()})

    def _record(self, entry: dict) -> None:
        if self.info.is_main:
            with open(self.out_dir / "metrics.jsonl", "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")

    # -- loop -------------------------------------------------------------------------------
    def _loader(self, epoch: int, skip_batches: int) -> DataLoader:
        self.sampler.set_epoch(epoch)
        sampler = _SkipSampler(self.sampler, skip_batches * self.cfg.batch_size)
        return DataLoader(self.train_set, batch_size=self.cfg.batch_size, sampler=sampler,
                          collate_fn=collate_samples, num_workers=self.num_workers,
                          pin_memory=self.device.type == "cuda", persistent_workers=False)

    def train_step(self, batch: dict) -> dict:
        terms = optimisation_step(self.ddp, self.loss_fn, self.optimizer, self.scaler, batch["images"],
                                  batch["mask"], self.device, self.amp, self.channels_last, self.augment,
                                  self.pixels, self.cfg.forward)
        self.scheduler.step()
        self.step += 1
        terms = {k: float(v) for k, v in terms.items()}
        self.epoch_loss = [self.epoch_loss[0] + terms["loss"], self.epoch_loss[1] + 1]
        return terms

    def _consider(self, metric: str, value: float) -> bool:
        """Keep ``value`` as the best so far if it is (and write ``best.pt``); main process only."""
        best = self.best
        better = best["value"] is None or best["metric"] != metric or \
            (value < best["value"] if self.lower_is_better else value > best["value"])
        if better:
            self.best = {"metric": metric, "value": value, "step": self.step}
            self._save("best.pt")
        return better

    def _end_epoch(self) -> None:
        """The mean training loss of the epoch so far (all ranks), recorded; with
        ``select=train_loss`` it decides ``best.pt``. Called on every process."""
        total = torch.tensor(self.epoch_loss, dtype=torch.float64, device=self.device)
        if self.info.enabled:
            torch.distributed.all_reduce(total)
        self.epoch_loss = [0.0, 0]
        if not self.info.is_main or total[1] == 0:
            return
        mean = float(total[0] / total[1])
        better = self.select_key == "train_loss" and self._consider("train_loss", mean)
        log.info("step %d: epoch mean training loss %.4f over %d steps%s", self.step, mean,
                 int(total[1]) // self.info.world_size, " (best)" if better else "")
        self._record({"kind": "epoch", "step": self.step, "train_loss": mean})

    def _validate(self) -> Optional[dict]:
        if self.val_set is None or not self.info.is_main:
            return None
        loader = DataLoader(self.val_set, batch_size=self.cfg.batch_size, shuffle=False,
                            collate_fn=collate_samples, num_workers=self.num_workers)
        result = validate(self.model, loader, self.loss_fn, self.device, self.frames, self.amp, self.channels_last,
                          self.pixels)
        better = False
        if self.select_key in result:
            if result[self.select_key] is None:
                raise ValueError(f"train.select={self.select_key} needs identities in the validation frames "
                                 f"(ids >= 0 in their gt.txt); choose train.select=val_loss")
            better = self._consider(self.select_key, result[self.select_key])
        log.info("step %d validation: %s%s", self.step,
                 " ".join(f"{k} {v:.4f}" for k, v in result.items() if v is not None and k != "val_assoc_acc")
                 + ("" if result["val_assoc_acc"] is None else
                    f" | diagnostic (uses identities): val_assoc_acc {result['val_assoc_acc']:.4f}"),
                 " (best)" if better else "")
        self._record({"kind": "val", "step": self.step, **result})
        return result

    def fit(self) -> dict:
        cfg = self.cfg
        self.out_dir.mkdir(parents=True, exist_ok=True)
        metrics = self.out_dir / "metrics.jsonl"
        if self.step == 0 and self.info.is_main and metrics.exists():  # a new run, not a resumed one
            log.warning("%s: a new run starts here; the earlier run's metrics.jsonl is replaced", self.out_dir)
            metrics.unlink()
        if self.info.is_main:
            log.info("best.pt chosen by %s (train.select)", self.cfg.select)
        self.ddp.train()
        bar = tqdm(total=self.total_steps, initial=self.step, desc="train", disable=not self.info.is_main,
                   dynamic_ncols=True)
        window = {k: 0.0 for k in self.terms}
        window_steps = window_crops = 0
        t_window = t_start = time.perf_counter()
        start_step = self.step
        while self.step < self.total_steps:
            epoch, skip = divmod(self.step, self.steps_per_epoch)
            for batch in self._loader(epoch, skip):
                terms = self.train_step(batch)
                bar.update(1)
                for k in self.terms:
                    window[k] += terms[k]
                window_steps += 1
                window_crops += int(batch["mask"].sum()) * self.info.world_size
                if self.step % cfg.log_interval == 0 or self.step == self.total_steps:
                    now = time.perf_counter()
                    rate = window_crops / (now - t_window)
                    eta = (now - t_start) / (self.step - start_step) * (self.total_steps - self.step)
                    entry = {"kind": "train", "step": self.step, "epoch": epoch,
                             **{k: window[k] / window_steps for k in self.terms},
                             "lr": self.scheduler.get_last_lr()[0], "crops_per_s": rate}
                    if self.info.is_main:
                        tqdm.write(f"step {self.step}/{self.total_steps} | " + " ".join(
                            f"{k} {entry[k]:.4f}" for k in self.terms) + f" | lr {entry['lr']:.2e} | "
                            f"{rate:,.0f} crops/s | {(now - t_window) / window_steps:.2f} s/step | "
                            f"ETA {time.strftime('%H:%M:%S', time.gmtime(eta))}")
                    self._record(entry)
                    window = {k: 0.0 for k in self.terms}
                    window_steps = window_crops = 0
                    t_window = now
                if self.step % self.steps_per_epoch == 0 or self.step == self.total_steps:
                    self._end_epoch()
                if cfg.val_interval and self.step % cfg.val_interval == 0:
                    self._validate()
                    barrier(self.info)
                if cfg.ckpt_interval and self.step % cfg.ckpt_interval == 0:
                    self._save("last.pt")
                if self.step >= self.total_steps:
                    break
        bar.close()
        if self.info.enabled:  # DDP syncs buffers (BatchNorm statistics) before each forward, not after the last
            for buffer in self.model.buffers():
                torch.distributed.broadcast(buffer, src=0)
        if not (cfg.val_interval and self.step % cfg.val_interval == 0):
            self._validate()
        self._save("last.pt")
        barrier(self.info)
        return {"step": self.step, "best": self.best, "seconds": time.perf_counter() - t_start}
