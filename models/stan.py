"""STAN, the spatial-temporal assignment network of MvMHAT++ (Gan et al., TPAMI): softmaxed
similarity blocks in, an assignment probability per pair of people out.

Input of one sample: the M x M matrix P of softmaxed blocks of all people of all its images
(M = sum of the images' people; block (a, b) = sigma(S_ab)). Output: A (M x M), a sigmoid per
entry clamped to [1e-4, 0.9999]. Batches are padded: ``p`` (B, M, M) with the people of sample
b in the first ``m_b`` rows and columns, ``valid`` (B, M) bool; padded entries of A are 0.

Variants (``STAN_VARIANTS``; sizes as the journal code):
    transformer  each entry embedded 1 -> 32 -> 128 (ReLU), plus a fixed 2-D sin-cos encoding of
                 its row and column index (64 dimensions each); 2 encoder layers, d_model 128,
                 4 heads, FFN 512; head 128 -> 32 -> 1. Attention over all M^2 entries.
    rnn          Deep Hungarian Net: a 2-layer bidirectional GRU (hidden 256) along each row,
                 then one along each column of its outputs; FC 512 -> 256 -> 64 -> 1.
    fc           a per-entry MLP 1 -> 32 -> 128 -> 32 -> 1 (no context: a learned threshold).
Dropout is 0 everywhere (the module is deterministic in training and at inference).

A STAN file (:func:`save_stan`, :func:`load_stan`) is one dict: ``{"kind": "stan", "variant",
"state_dict", "meta"}`` (meta: how it was trained), written atomically.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Union

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from atomic import atomic_open
from errors import KnownError

A_MIN, A_MAX = 1e-4, 0.9999  # the clamp of the sigmoid output


class StanFileError(KnownError, ValueError):
    """A STAN file that cannot be read or is not a STAN file; the message names the file."""


def sincos_2d(m: int, dim: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """Fixed position encoding of the entries of an m x m matrix: (m * m, dim); the first dim/2
    numbers encode the row index, the last dim/2 the column index (sin and cos of index / 10000^(2i/d))."""
    half = dim // 2
    freq = torch.exp(-math.log(10000.0) * torch.arange(0, half, 2, device=device, dtype=dtype) / half)  # (half/2,)
    pos = torch.arange(m, device=device, dtype=dtype)[:, None] * freq  # (m, half/2)
    enc = torch.cat([pos.sin(), pos.cos()], dim=-1)  # (m, half)
    rows = enc[:, None, :].expand(m, m, half)
    cols = enc[None, :, :].expand(m, m, half)
    return torch.cat([rows, cols], dim=-1).reshape(m * m, dim)


class _Transformer(nn.Module):
    def __init__(self, d_model: int = 128, heads: int = 4, ffn: int = 512, layers: int = 2):
        super().__init__()
        self.d_model = d_model
        self.embed = nn.Sequential(nn.Linear(1, 32), nn.ReLU(), nn.Linear(32, d_model), nn.ReLU())
        layer = nn.TransformerEncoderLayer(d_model, heads, ffn, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Sequential(nn.Linear(d_model, 32), nn.ReLU(), nn.Linear(32, 1))

    def forward(self, p: Tensor, pair: Tensor) -> Tensor:
        b, m, _ = p.shape
        x = self.embed(p.reshape(b, m * m, 1)) + sincos_2d(m, self.d_model, p.device, p.dtype)  # (B, M*M, 128)
        pad = ~pair.reshape(b, m * m)
        pad[:, 0] = False  # an empty sample attends to its (ignored) first entry instead of nothing (NaN)
        return self.head(self.encoder(x, src_key_padding_mask=pad)).reshape(b, m, m)


def _bigru_along_rows(gru: nn.GRU, x: Tensor, lengths: Tensor) -> Tensor:
    """Run ``gru`` along every row of x (B, M, M, C), each row of sample b being m_b long."""
    b, m, _, c = x.shape
    seq = x.reshape(b * m, m, c)
    lens = lengths[:, None].expand(b, m).reshape(-1).clamp(min=1).cpu()
    packed = pack_padded_sequence(seq, lens, batch_first=True, enforce_sorted=False)
    out, _ = gru(packed)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=m)
    return out.reshape(b, m, m, -1)


class _DeepHungarian(nn.Module):
    def __init__(self, hidden: int = 256):
        super().__init__()
        self.rows = nn.GRU(1, hidden, num_layers=2, batch_first=True, bidirectional=True)
        self.cols = nn.GRU(2 * hidden, hidden, num_layers=2, batch_first=True, bidirectional=True)
        self.head = nn.Sequential(nn.Linear(2 * hidden, 256), nn.ReLU(), nn.Linear(256, 64), nn.ReLU(),
                                  nn.Linear(64, 1))

    def forward(self, p: Tensor, pair: Tensor) -> Tensor:
        lengths = pair.any(-1).sum(-1)  # (B,) people per sample
        h = _bigru_along_rows(self.rows, p[..., None], lengths)  # (B, M, M, 512), h[b, i, j]
        h = _bigru_along_rows(self.cols, h.transpose(1, 2), lengths).transpose(1, 2)  # along columns
        return self.head(h)[..., 0]


class _PerEntry(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(1, 32), nn.ReLU(), nn.Linear(32, 128), nn.ReLU(), nn.Linear(128, 32),
                                 nn.ReLU(), nn.Linear(32, 1))

    def forward(self, p: Tensor, pair: Tensor) -> Tensor:
        return self.net(p[..., None])[..., 0]


STAN_VARIANTS = {"transformer": _Transformer, "rnn": _DeepHungarian, "fc": _PerEntry}


class STAN(nn.Module):
    """Assignment probabilities from softmaxed similarity blocks (see the module docstring)."""

    def __init__(self, variant: str = "transformer"):
        super().__init__()
        if variant not in STAN_VARIANTS:
            raise KeyError(f"unknown STAN variant {variant!r}; valid: {sorted(STAN_VARIANTS)}")
        self.variant = variant
        self.net = STAN_VARIANTS[variant]()

    def forward(self, p: Tensor, valid: Tensor) -> Tensor:
        """p: (B, M, M) softmaxed blocks, people of sample b first; valid: (B, M) bool, a prefix.
        Returns A: (B, M, M) in [1e-4, 0.9999] on valid pairs, 0 elsewhere."""
        if p.dim() != 3 or p.shape[1] != p.shape[2] or valid.shape != p.shape[:2]:
            raise ValueError(f"p (B, M, M) and valid (B, M) expected, got {tuple(p.shape)}, {tuple(valid.shape)}")
        pair = valid[:, :, None] & valid[:, None, :]  # (B, M, M)
        if p.shape[1] == 0:
            return p.clone()
        x = torch.where(pair, p, p.new_zeros(()))
        a = torch.sigmoid(self.net(x, pair)).clamp(A_MIN, A_MAX)
        return torch.where(pair, a, a.new_zeros(()))


def save_stan(path: Union[str, Path], stan: STAN, meta: dict) -> None:
    """Write a STAN file (atomically): variant, weights and ``meta`` (how it was trained)."""
    state = {k: v.detach().cpu() for k, v in stan.state_dict().items()}
    with atomic_open(path, "wb") as f:
        torch.save({"kind": "stan", "variant": stan.variant, "state_dict": state, "meta": meta}, f)


def load_stan(path: Union[str, Path]) -> tuple:
    """``(STAN in eval mode, meta)`` from a STAN file or from a training checkpoint of the journal
    profile (its ``loss_state`` holds the STAN trained with the backbone)."""
    path = Path(path)
    if not path.is_file():
        raise StanFileError(f"STAN file not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)  # as engine.checkpoint: own files (RNG state inside)
    except Exception as e:  # noqa: BLE001 - any unreadable file is reported the same way
        raise StanFileError(f"cannot read STAN file {path}: {e}") from None
    if isinstance(state, dict) and state.get("kind") == "stan":
        variant, weights, meta = state["variant"], state["state_dict"], state.get("meta", {})
    elif isinstance(state, dict) and isinstance(state.get("loss_state"), dict) and "config" in state:
        variant = state["config"].get("model", {}).get("stan", "none")
        prefix = "stan."
        weights = {k[len(prefix):]: v for k, v in state["loss_state"].items() if k.startswith(prefix)}
        meta = {"from_checkpoint": str(path), "step": state.get("step")}
        if variant == "none" or not weights:
            raise StanFileError(f"{path}: a training checkpoint without a STAN (model.stan={variant})")
    else:
        raise StanFileError(f"{path}: not a STAN file (no 'kind: stan') nor a training checkpoint with a STAN")
    if variant not in STAN_VARIANTS:
        raise StanFileError(f"{path}: unknown STAN variant {variant!r}; valid: {sorted(STAN_VARIANTS)}")
    stan = STAN(variant)
    try:
        stan.load_state_dict(weights)
    except RuntimeError as e:
        raise StanFileError(f"{path}: weights do not fit a {variant} STAN: {e}") from None
    return stan.eval(), meta
