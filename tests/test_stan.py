"""STAN (models/stan.py), its pseudo labels and the losses on A (models/assignment_losses.py):
sizes, padding, hand-computed labels and loss values, loop references, the joint loss."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from models.assignment_losses import (JournalLoss, block_labels, focal_loss, gather_people, nuclear_loss,
                                      pseudo_labels, sum_loss, symmetry_loss)
from models.losses import MvMHATLoss
from models.stan import A_MAX, A_MIN, STAN, StanFileError, load_stan, save_stan, sincos_2d
from tests.test_losses import random_batch


def padded(mats):
    """Pack square matrices of different sizes into (B, M, M) and a (B, M) prefix mask."""
    m = max(x.shape[0] for x in mats)
    p = torch.zeros(len(mats), m, m)
    valid = torch.zeros(len(mats), m, dtype=torch.bool)
    for i, x in enumerate(mats):
        p[i, :len(x), :len(x)] = x
        valid[i, :len(x)] = True
    return p, valid


@pytest.mark.parametrize("variant", ["transformer", "rnn", "fc"])
def test_output_range_padding_and_batch_independence(variant):
    torch.manual_seed(0)
    stan = STAN(variant).eval()
    mats = [torch.rand(5, 5), torch.rand(3, 3), torch.rand(1, 1)]
    p, valid = padded(mats)
    p[1, 3:, :] = 9.0  # garbage in padding must not matter
    with torch.no_grad():
        a = stan(p, valid)
        alone = [stan(x[None], torch.ones(1, len(x), dtype=torch.bool))[0] for x in mats]
    pair = valid[:, :, None] & valid[:, None, :]
    assert a.shape == (3, 5, 5)
    assert (a[~pair] == 0).all() and (a[pair] >= A_MIN).all() and (a[pair] <= A_MAX).all()
    for i, x in enumerate(mats):
        torch.testing.assert_close(a[i, :len(x), :len(x)], alone[i], rtol=1e-4, atol=1e-5)


def test_variant_sizes():
    t = STAN("transformer").net
    assert [m.out_features for m in t.embed if isinstance(m, torch.nn.Linear)] == [32, 128]
    assert len(t.encoder.layers) == 2
    layer = t.encoder.layers[0]
    assert layer.self_attn.embed_dim == 128 and layer.self_attn.num_heads == 4
    assert layer.linear1.out_features == 512
    assert [m.out_features for m in t.head if isinstance(m, torch.nn.Linear)] == [32, 1]
    r = STAN("rnn").net
    for gru, inp in ((r.rows, 1), (r.cols, 512)):
        assert (gru.input_size, gru.hidden_size, gru.num_layers, gru.bidirectional) == (inp, 256, 2, True)
    assert [m.out_features for m in r.head if isinstance(m, torch.nn.Linear)] == [256, 64, 1]
    assert isinstance(t.embed[-1], torch.nn.Linear) and layer.dropout.p == 0.1  # as released
    assert all(isinstance(m, torch.nn.Linear) for m in r.head)  # no activation between, as released
    bias = r.rows.bias_hh_l1_reverse
    assert (bias[:256] == -1).all() and not (bias[256:] == -1).all()  # reset gate biases -1
    w = r.cols.weight_hh_l0.detach()  # orthogonal initialisation (rows of a 768 x 256 matrix)
    torch.testing.assert_close(w.T @ w, torch.eye(256), rtol=0, atol=1e-4)
    f = STAN("fc").net
    assert [m.out_features for m in f.net if isinstance(m, torch.nn.Linear)] == [32, 128, 32, 1]
    with pytest.raises(KeyError, match="transformer"):
        STAN("gnn")


def test_sincos_encoding_columns_then_rows():
    enc = sincos_2d(4, 8, torch.device("cpu"), torch.float64).reshape(4, 4, 8)
    # entry (i, j): first half depends on the column j only, second on the row i only (the journal's
    # order); index 1: sin(1), sin(1/100), cos(1), cos(1/100)
    assert torch.equal(enc[0, 2, :4], enc[3, 2, :4]) and torch.equal(enc[1, 0, 4:], enc[1, 3, 4:])
    expected = torch.tensor([math.sin(1.0), math.sin(0.01), math.cos(1.0), math.cos(0.01)], dtype=torch.float64)
    torch.testing.assert_close(enc[0, 1, :4], expected)
    torch.testing.assert_close(enc[1, 0, 4:], expected)


def test_transformer_against_a_one_sample_reference():
    """The journal's transformer STAN on one matrix, step by step: entries embedded, the sin-cos
    encoding of (column, row) added, the encoder over the M^2 entries in row-major order, the head."""
    torch.manual_seed(1)
    stan = STAN("transformer").eval()
    net, m = stan.net, 5
    x = torch.rand(m, m)
    w = 1.0 / 10000 ** (torch.arange(32, dtype=torch.float64) / 32)  # 64 numbers per index
    code = lambda k: torch.cat([torch.sin(k * w), torch.cos(k * w)])  # noqa: E731
    pos = torch.stack([torch.cat([code(j), code(i)]) for i in range(m) for j in range(m)]).float()
    with torch.no_grad():
        h = net.embed(x.reshape(m * m, 1)) + pos
        for layer in net.encoder.layers:
            h = layer(h[None])[0]
        want = torch.sigmoid(net.head(h)).reshape(m, m).clamp(A_MIN, A_MAX)
        got = stan(x[None], torch.ones(1, m, dtype=torch.bool))[0]
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_rnn_is_one_row_major_then_one_column_major_sequence():
    """The journal's Deep Hungarian Net: all M^2 entries as one sequence (row-major) through the
    first GRU, its outputs as one sequence in column-major order through the second, then three
    linear layers without activation; batched with padding it gives each sample's own result."""
    torch.manual_seed(2)
    stan = STAN("rnn").eval()
    net = stan.net

    def reference(x):
        m = len(x)
        out, _ = net.rows(x.reshape(1, m * m, 1))
        h = out.reshape(m, m, -1)
        out, _ = net.cols(h.transpose(0, 1).reshape(1, m * m, -1))
        h = out.reshape(m, m, -1).transpose(0, 1)
        z = h @ net.head[0].weight.T + net.head[0].bias
        z = z @ net.head[1].weight.T + net.head[1].bias
        z = z @ net.head[2].weight.T + net.head[2].bias
        return torch.sigmoid(z[..., 0]).clamp(A_MIN, A_MAX)

    mats = [torch.rand(4, 4), torch.rand(2, 2), torch.rand(3, 3)]
    p, valid = padded(mats)
    with torch.no_grad():
        a = stan(p, valid)
        for i, x in enumerate(mats):
            torch.testing.assert_close(a[i, :len(x), :len(x)], reference(x), rtol=1e-4, atol=1e-5)
    assert not torch.allclose(reference(mats[0]), reference(mats[0].T).T)  # the order matters


def test_block_labels_by_hand():
    # threshold: [[0.7, 0], [0.6, 0]]; the best assignment (0,0)+(1,1) = 0.7 beats (0,1)+(1,0) = 0.6,
    # and (1,1) is 0 after the threshold: row 1 is the dummy (no match).
    np.testing.assert_array_equal(block_labels(np.array([[0.7, 0.3], [0.6, 0.4]])), [[1, 0], [0, 0]])
    # rectangular: 3 rows, 2 columns; row 2 unassigned
    np.testing.assert_array_equal(block_labels(np.array([[0.1, 0.9], [0.8, 0.2], [0.55, 0.45]])),
                                  [[0, 1], [1, 0], [0, 0]])
    assert block_labels(np.zeros((0, 3))).shape == (0, 3)


def test_pseudo_labels_per_block():
    # two images: people 0, 1 in image 0 and person 2 in image 1
    p = torch.tensor([[[0.9, 0.1, 0.8], [0.2, 0.8, 0.3], [0.6, 0.4, 1.0]]])
    labels = pseudo_labels(p, torch.tensor([[0, 0, 1]]), torch.ones(1, 3, dtype=torch.bool))
    # block (0,0): identity; block (0,1): [[0.8], [0.3]] -> row 0; block (1,0): [[0.6, 0.4]] -> col 0
    expected = torch.tensor([[[1.0, 0, 1], [0, 1, 0], [1, 0, 1]]])
    torch.testing.assert_close(labels, expected)


def loop_focal(a, y, gamma=2.0):
    vals = [float(v) for v in y.flatten()]
    pos = sum(vals) / len(vals)
    if pos == 0:  # all zeros: negatives weigh 1
        pos = 1.0
    elif pos == 1:  # all ones: positives weigh 1
        pos = 0.0
    total = 0.0
    for ai, yi in zip(a.flatten().tolist(), vals):
        total += -((1 - pos) * yi * (1 - ai) ** gamma * math.log(ai) + pos * (1 - yi) * ai ** gamma * math.log(1 - ai))
    return total / len(vals)


def test_losses_on_a_match_loops():
    g = torch.Generator().manual_seed(0)
    mats = [torch.rand(4, 4, generator=g, dtype=torch.float64).clamp(A_MIN, A_MAX),
            torch.rand(2, 2, generator=g, dtype=torch.float64).clamp(A_MIN, A_MAX)]
    labs = [(torch.rand(4, 4, generator=g) > 0.6).double(), torch.eye(2, dtype=torch.float64)]
    a, valid = padded(mats)
    a = a.double()
    y, _ = padded(labs)
    y = y.double()
    assert focal_loss(a, y, valid).item() == pytest.approx(np.mean([loop_focal(m, l) for m, l in zip(mats, labs)]))
    sym = np.mean([np.linalg.norm((m - m.T).numpy()) for m in mats])
    assert symmetry_loss(a, valid).item() == pytest.approx(sym)
    nuc = np.mean([np.linalg.svd(m.numpy(), compute_uv=False).sum() for m in mats])
    assert nuclear_loss(a, valid).item() == pytest.approx(nuc)
    k = torch.tensor([3, 2])
    ref = []
    for m, kk in zip(mats, k.tolist()):
        band = lambda sums: np.mean([max(0.0, abs(s - (kk + 1) / 2) - (kk - 1) / 2) for s in sums])  # noqa: E731
        ref.append(band(m.sum(0).tolist()) + band(m.sum(1).tolist()))  # column mean + row mean
    assert sum_loss(a, valid, k).item() == pytest.approx(np.mean(ref))


def test_focal_loss_of_one_class_only():
    # all labels 0: negatives weigh 1, -mean(A^2 log(1 - A)); all 1: positives weigh 1
    a = torch.tensor([[[0.5, 0.2], [0.1, 0.9]]], dtype=torch.float64)
    valid = torch.ones(1, 2, dtype=torch.bool)
    zeros = -np.mean([v ** 2 * math.log(1 - v) for v in (0.5, 0.2, 0.1, 0.9)])
    ones = -np.mean([(1 - v) ** 2 * math.log(v) for v in (0.5, 0.2, 0.1, 0.9)])
    assert focal_loss(a, torch.zeros_like(a), valid).item() == pytest.approx(zeros)
    assert focal_loss(a, torch.ones_like(a), valid).item() == pytest.approx(ones)
    assert loop_focal(a[0], torch.zeros(2, 2)) == pytest.approx(zeros)


def test_sum_loss_by_hand():
    # K = 2: sums must lie in [1, 2]. A = [[0.5, 0.2], [0.9, 0.9]]: rows 0.7 (0.3 short), 1.8;
    # columns 1.4, 1.1 -> (0 + 0) / 2 over the columns + (0.3 + 0) / 2 over the rows
    a = torch.tensor([[[0.5, 0.2], [0.9, 0.9]]], dtype=torch.float64)
    assert sum_loss(a, torch.ones(1, 2, dtype=torch.bool), torch.tensor([2])).item() == pytest.approx(0.15)


def test_gather_people_matches_loops():
    feats, mask = random_batch(2, 3, 4, 8, pad_images=((1, 1),), seed=5)
    p, valid, image_of, images = gather_people(feats, mask, 0.5, 0.1)
    for b in range(2):
        imgs = [(k, feats[b, k][mask[b, k]]) for k in range(3) if mask[b, k].any()]
        rows = []
        for _, fa in imgs:
            blocks = []
            for _, fb in imgs:
                tau = math.log(fb.shape[0]) / 0.1
                blocks.append(torch.softmax(fa @ fb.T * tau, dim=1))
            rows.append(torch.cat(blocks, 1))
        full = torch.cat(rows, 0)
        m = full.shape[0]
        assert int(valid[b].sum()) == m and bool(valid[b, :m].all())
        torch.testing.assert_close(p[b, :m, :m], full)
        assert image_of[b, :m].tolist() == [k for k, f in imgs for _ in range(len(f))]
        assert int(images[b]) == len(imgs)


def test_journal_loss_terms_and_gradients():
    torch.manual_seed(0)
    feats, mask = random_batch(2, 4, 3, 8, seed=7)
    x = feats.float().requires_grad_(True)
    stan = STAN("fc")
    crit = JournalLoss(MvMHATLoss(self_weight=0, transitive="journal", hinge="journal"), stan)
    out = crit(x, mask)
    assert tuple(out) == ("loss", "self", "pairwise", "triplewise", "focal", "symmetry", "nuclear", "sum")
    expected = out["pairwise"] + out["triplewise"] + 5 * out["focal"] + 0.002 * out["symmetry"] \
        + 1e-4 * out["nuclear"] + 0.004 * out["sum"]
    torch.testing.assert_close(out["loss"], expected)
    out["loss"].backward()
    assert x.grad[mask].abs().sum() > 0 and (x.grad[~mask] == 0).all()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in stan.parameters())


def test_stan_file_round_trip_and_errors(tmp_path):
    stan = STAN("fc")
    save_stan(tmp_path / "s.pt", stan, {"note": "test"})
    loaded, meta = load_stan(tmp_path / "s.pt")
    assert meta == {"note": "test"} and loaded.variant == "fc"
    for k, v in stan.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k])
    torch.save({"something": 1}, tmp_path / "bad.pt")
    with pytest.raises(StanFileError, match="bad.pt"):
        load_stan(tmp_path / "bad.pt")
    with pytest.raises(StanFileError, match="not found"):
        load_stan(tmp_path / "missing.pt")


# the released journal code's parameter names (dhn_transformer.py, dhn.py) for ours
RELEASED = {
    "transformer": [("net.embed.", "embedding_layer."), ("net.encoder.", "transformer_encoder."),
                    ("net.head.", "hidden2tag.")],
    "rnn": [("net.rows.", "lstm_row."), ("net.cols.", "lstm_col."), ("net.head.0.", "hidden2tag_1."),
            ("net.head.1.", "hidden2tag_2."), ("net.head.2.", "hidden2tag_3.")],
    "fc": [("net.net.0.", "fc1."), ("net.net.2.", "fc2."), ("net.net.4.", "fc3."), ("net.net.6.", "fc4.")],
}


def released_names(stan):
    out = {}
    for k, v in stan.state_dict().items():
        if k == "layout":
            continue
        ours, theirs = next((o, t) for o, t in RELEASED[stan.variant] if k.startswith(o))
        out[theirs + k[len(ours):]] = v
    return out


@pytest.mark.parametrize("variant", ["transformer", "rnn", "fc"])
@pytest.mark.parametrize("form", ["pretrain", "checkpoint", "dataparallel"])
def test_released_stan_weights_load(tmp_path, variant, form):
    torch.manual_seed(3)
    stan = STAN(variant).eval()
    theirs = released_names(stan)
    assert "embedding_layer.2.weight" in theirs or "lstm_col.weight_hh_l1_reverse" in theirs or "fc4.bias" in theirs
    if form == "pretrain":  # the journal's pre-trained STAN file
        obj = {"model": theirs}
    elif form == "checkpoint":  # its training checkpoint: backbone and STAN in one state dict
        obj = {"model": {"feature_extractor.conv1.weight": torch.zeros(1), **{f"dhn_model.{k}": v for k, v in theirs.items()}}}
    else:
        obj = {f"module.{k}": v for k, v in theirs.items()}
    torch.save(obj, tmp_path / "released.pth")
    loaded, meta = load_stan(tmp_path / "released.pth")
    assert loaded.variant == variant and meta == {"released": str(tmp_path / "released.pth")}
    p = torch.rand(1, 4, 4)
    with torch.no_grad():
        torch.testing.assert_close(loaded(p, torch.ones(1, 4, dtype=torch.bool)), stan(p, torch.ones(1, 4, dtype=torch.bool)))


def test_stan_files_of_the_earlier_layout(tmp_path):
    for variant in ("transformer", "rnn", "fc"):
        old = {k: v for k, v in STAN(variant).state_dict().items() if k != "layout"}
        torch.save({"kind": "stan", "variant": variant, "state_dict": old, "meta": {}}, tmp_path / f"{variant}.pt")
    with pytest.raises(StanFileError, match="transformer.pt: a transformer STAN of an earlier layout"):
        load_stan(tmp_path / "transformer.pt")
    with pytest.raises(StanFileError, match="rnn STAN of an earlier layout"):
        load_stan(tmp_path / "rnn.pt")
    assert load_stan(tmp_path / "fc.pt")[0].variant == "fc"  # the fc network did not change
