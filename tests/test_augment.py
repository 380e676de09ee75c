"""Training crop augmentation (engine/augment.py)."""
from __future__ import annotations

import pytest
import torch

from engine.augment import CropAugment


def _crops(m=6, h=16, w=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (m, 3, h, w), generator=g).float()


def test_disabled_augmentation_returns_the_crops():
    x = _crops()
    aug = CropAugment()
    assert not aug.enabled and aug(x, torch.zeros(6, dtype=torch.long)) is x


def test_mirror_only_flips_whole_crops():
    x = _crops()
    y = CropAugment(mirror=True, seed=1)(x, torch.zeros(6, dtype=torch.long))
    same = [torch.allclose(y[i], x[i], atol=1e-3) for i in range(6)]
    flipped = [torch.allclose(y[i], x[i].flip(-1), atol=1e-3) for i in range(6)]
    assert all(a != b for a, b in zip(same, flipped))  # every crop is itself or its mirror
    assert any(same) and any(flipped)


def test_colour_gain_is_one_per_image():
    x = torch.full((4, 3, 8, 4), 100.0)
    y = CropAugment(colour_jitter=0.2)(x, torch.tensor([0, 0, 1, 1]))
    gain = y[:, :, 0, 0] / 100.0  # (4, 3)
    assert torch.allclose(gain[0], gain[1]) and torch.allclose(gain[2], gain[3])
    assert not torch.allclose(gain[0], gain[2]) and (gain != 1).all()
    assert torch.allclose(y, gain[:, :, None, None] * 100.0)  # a gain per channel, nothing else


def test_box_jitter_moves_content_and_repeats_with_the_seed():
    x = torch.zeros(200, 1, 32, 16)
    x[:, :, 12:20, 6:10] = 255.0  # a bright block in the middle
    index = torch.zeros(200, dtype=torch.long)
    aug = CropAugment(box_jitter=0.1, seed=3)
    y = aug(x, index)
    again = CropAugment(box_jitter=0.1, seed=3)
    assert torch.equal(again(x, index), y)  # same seed, same draws
    state = aug.state_dict()
    y2 = aug(x, index)
    assert not torch.equal(y2, y)  # the generator moved on
    again.load_state_dict(state)  # a resumed run continues where the saved one was
    assert torch.equal(again(x, index), y2)
    rows = torch.arange(32.0)[None, :]
    centre = (y[:, 0].sum(2) * rows).sum(1) / y[:, 0].sum((1, 2))  # block centre row per crop
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 255 + 1e-3
    assert 0.5 < centre.std() < 8 and abs(float(centre.mean()) - 15.5) < 1.0  # shifted around the middle


def test_strengths_validated():
    with pytest.raises(ValueError):
        CropAugment(box_jitter=-0.1)
