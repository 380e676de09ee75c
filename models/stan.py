"""STAN, the spatial-temporal assignment network of MvMHAT++ (Gan et al., TPAMI): softmaxed
similarity blocks in, an assignment probability per pair of people out.

Input of one sample: the M x M matrix P of softmaxed blocks of all people of all its images
(M = sum of the images' people; block (a, b) = sigma(S_ab)). Output: A (M x M), a sigmoid per
entry clamped to [1e-4, 0.9999]. Batches are padded: ``p`` (B, M, M) with the people of sample
b in the first ``m_b`` rows and columns, ``valid`` (B, M) bool; padded entries of A are 0.

Variants (``STAN_VARIANTS``; as the released journal code, ``dhn_transformer.py`` and ``dhn.py``):
    transformer  each entry embedded 1 -> 32 -> 128 (ReLU between), plus a fixed 2-D sin-cos
                 encoding of its position (64 dimensions for the column index, then 64 for the
                 row index); 2 encoder layers (post-norm), d_model 128, 4 heads, FFN 512, dropout
                 0.1 (torch's default, which the journal keeps); head 128 -> 32 -> 1 (ReLU
                 between). Attention over all M^2 entries.
    rnn          Deep Hungarian Net: the M^2 entries in row-major order as ONE sequence through a
                 2-layer bidirectional GRU (hidden 256), its outputs in column-major order as one
                 sequence through another (512 -> 256), then three linear layers 512 -> 256 ->
                 64 -> 1 with no activation between (as released); GRU weights orthogonal, the
                 reset-gate biases -1.
    fc           a per-entry MLP 1 -> 32 -> 128 -> 32 -> 1 (ReLU between; no context: a learned
                 threshold).

A STAN file (:func:`save_stan`, :func:`load_stan`) is one dict: ``{"kind": "stan", "variant",
"state_dict", "meta"}`` (meta: how it was trained), written atomically. The state dict carries
``layout`` (:data:`LAYOUT`): transformer and rnn files of an earlier layout (before these
variants followed the released code) are refused rather than run as another network.
:func:`load_stan` also reads the journal's released STAN weights (:func:`released_stan_state`).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Optional, Tuple, Union

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from atomic import atomic_open
from errors import KnownError
from models.hub import released_state

A_MIN, A_MAX = 1e-4, 0.9999  # the clamp of the sigmoid output
LAYOUT = 2  # the STAN state-dict layout: 2 = transformer and rnn as the released journal code


class StanFileError(KnownError, ValueError):
    """A STAN file that cannot be read or is not a STAN file; the message names the file."""


def sincos_2d(m: int, dim: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """Fixed position encoding of the entries of an m x m matrix, (m * m, dim) in row-major
    order, as the journal's: for entry (i, j) the first dim/2 numbers encode the column index j,
    the last dim/2 the row index i, each as [sin(k * w), cos(k * w)] with w = 10000^(-2t/(dim/2))."""
    half = dim // 2
    freq = torch.exp(-math.log(10000.0) * torch.arange(0, half, 2, device=device, dtype=dtype) / half)  # (half/2,)
    pos = torch.arange(m, device=device, dtype=dtype)[:, None] * freq  # (m, half/2)
    enc = torch.cat([pos.sin(), pos.cos()], dim=-1)  # (m, half)
    cols = enc[None, :, :].expand(m, m, half)
    rows = enc[:, None, :].expand(m, m, half)
    return torch.cat([cols, rows], dim=-1).reshape(m * m, dim)


class _Transformer(nn.Module):
    def __init__(self, d_model: int = 128, heads: int = 4, ffn: int = 512, layers: int = 2, dropout: float = 0.1):
        super().__init__()
        self.d_model = d_model
        self.embed = nn.Sequential(nn.Linear(1, 32), nn.ReLU(), nn.Linear(32, d_model))
        layer = nn.TransformerEncoderLayer(d_model, heads, ffn, dropout=dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Sequential(nn.Linear(d_model, 32), nn.ReLU(), nn.Linear(32, 1))

    def forward(self, p: Tensor, pair: Tensor) -> Tensor:
        b, m, _ = p.shape
        x = self.embed(p.reshape(b, m * m, 1)) + sincos_2d(m, self.d_model, p.device, p.dtype)  # (B, M*M, 128)
        pad = ~pair.reshape(b, m * m)
        pad[:, 0] = False  # an empty sample attends to its (ignored) first entry instead of nothing (NaN)
        return self.head(self.encoder(x, src_key_padding_mask=pad)).reshape(b, m, m)


def _gru_over_entries(gru: nn.GRU, x: Tensor, pair: Tensor, lengths: Tensor) -> Tensor:
    """Run ``gru`` over one sequence per sample: the valid entries of x (B, M, M, C) in row-major
    order (``pair`` (B, M, M): valid entries; ``lengths`` (B,): their count). Returns
    (B, M, M, H) with the outputs in place, 0 on padding."""
    b, m = x.shape[:2]
    steps = torch.arange(int(lengths.max().clamp(min=1)), device=x.device)
    in_seq = steps[None, :] < lengths[:, None]  # (B, L): the sequence positions that hold entries
    seq = x.new_zeros(b, len(steps), x.shape[-1])
    seq[in_seq] = x[pair]  # boolean indexing walks b, i, j: each sample's entries in row-major order
    packed = pack_padded_sequence(seq, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False)
    out, _ = gru(packed)  # initial hidden state 0, as the journal resets it before every forward
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=len(steps))
    y = out.new_zeros(b, m, m, out.shape[-1])
    y[pair] = out[in_seq]
    return y


class _DeepHungarian(nn.Module):
    def __init__(self, hidden: int = 256):
        super().__init__()
        self.rows = nn.GRU(1, hidden, num_layers=2, batch_first=True, bidirectional=True)
        self.cols = nn.GRU(2 * hidden, hidden, num_layers=2, batch_first=True, bidirectional=True)
        self.head = nn.Sequential(nn.Linear(2 * hidden, 256), nn.Linear(256, 64), nn.Linear(64, 1))  # no activation, as released
        for gru in (self.rows, self.cols):  # the journal's initialisation
            for name, w in gru.named_parameters():
                if name.startswith("weight_"):
                    nn.init.orthogonal_(w.data)
                else:  # bias_ih_l*, bias_hh_l*: the reset gate's part (first of r, z, n) -1
                    w.data[:hidden].fill_(-1.0)

    def forward(self, p: Tensor, pair: Tensor) -> Tensor:
        lengths = pair.sum((1, 2))  # (B,) m_b^2 entries per sample
        h = _gru_over_entries(self.rows, p[..., None], pair, lengths)  # row-major pass, (B, M, M, 512)
        h = _gru_over_entries(self.cols, h.transpose(1, 2), pair, lengths).transpose(1, 2)  # column-major pass
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
        self.register_buffer("layout", torch.tensor(LAYOUT))  # in every file: see the module docstring

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


# the journal's module names -> ours, per variant (dhn_transformer.STAN_transformer, dhn.Munkrs,
# dhn_transformer.STAN_FC); released_stan_state recognises a variant by RELEASED_MARKER's key
RELEASED_NAMES = {
    "transformer": {"embedding_layer.0.": "net.embed.0.", "embedding_layer.2.": "net.embed.2.",
                    "transformer_encoder.": "net.encoder.", "hidden2tag.0.": "net.head.0.",
                    "hidden2tag.2.": "net.head.2."},
    "rnn": {"lstm_row.": "net.rows.", "lstm_col.": "net.cols.", "hidden2tag_1.": "net.head.0.",
            "hidden2tag_2.": "net.head.1.", "hidden2tag_3.": "net.head.2."},
    "fc": {"fc1.": "net.net.0.", "fc2.": "net.net.2.", "fc3.": "net.net.4.", "fc4.": "net.net.6."},
}
RELEASED_MARKER = {"transformer": "embedding_layer.0.weight", "rnn": "lstm_row.weight_ih_l0", "fc": "fc1.weight"}


def released_stan_state(obj) -> Optional[Tuple[str, dict]]:
    """``(variant, state dict in this module's names)`` of the journal's released STAN weights,
    or None: its pre-training file ``{'model': state_dict}`` or a plain state dict, or the STAN
    (``dhn_model.*``) of its training checkpoint ``{'model': {feature_extractor.*,
    dhn_model.*}}``; a ``module.`` prefix on every key is removed."""
    obj = released_state(obj, "dhn_model.")
    if obj is None:
        return None
    for variant, names in RELEASED_NAMES.items():
        if RELEASED_MARKER[variant] not in obj:
            continue
        ours = {}
        for key, value in obj.items():
            if key.startswith("positional_encoding."):  # the fixed encoding, if a file holds it
                continue
            old = next((o for o in names if key.startswith(o)), None)
            if old is None:
                return None  # a key this variant does not have: not a released STAN
            ours[names[old] + key[len(old):]] = value
        return variant, {**ours, "layout": torch.tensor(LAYOUT)}
    return None


def load_stan(path: Union[str, Path]) -> tuple:
    """``(STAN in eval mode, meta)`` from a STAN file, from a training checkpoint of the journal
    profile (its ``loss_state`` holds the STAN trained with the backbone), or from the journal's
    released STAN weights (:func:`released_stan_state`)."""
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
    elif (released := released_stan_state(state)) is not None:
        (variant, weights), meta = released, {"released": str(path)}
    else:
        raise StanFileError(f"{path}: not a STAN file (no 'kind: stan'), nor a training checkpoint with a STAN, "
                            f"nor the journal's released STAN weights")
    if variant not in STAN_VARIANTS:
        raise StanFileError(f"{path}: unknown STAN variant {variant!r}; valid: {sorted(STAN_VARIANTS)}")
    if "layout" not in weights:  # written before LAYOUT 2: the fc network is unchanged since
        if variant != "fc":
            raise StanFileError(f"{path}: a {variant} STAN of an earlier layout of this code (before the transformer "
                                f"and rnn variants followed the released journal code); train it again "
                                f"(python -m tools.pretrain_stan, or the journal profile)")
        weights = {**weights, "layout": torch.tensor(LAYOUT)}
    stan = STAN(variant)
    try:
        stan.load_state_dict(weights)
    except RuntimeError as e:
        raise StanFileError(f"{path}: weights do not fit a {variant} STAN: {' '.join(str(e).split())}") from None
    if int(stan.layout) != LAYOUT:
        raise StanFileError(f"{path}: STAN layout {int(stan.layout)}, this code reads layout {LAYOUT}")
    return stan.eval(), meta
