"""The network's input and forward pass: pixel conventions (data.pixels), one forward pass per
image (train.forward), and the pixel convention a checkpoint carries into tracking."""
import copy

import pytest
import torch

from config import CHOICES, ModelConfig
from engine.checkpoint import load_model, save_checkpoint
from engine.embed import embed_batch
from loader.crops import IMAGENET_MEAN, IMAGENET_STD, PIXELS, network_input
from models.embedding import build_model


def test_pixel_conventions_by_hand():
    crops = torch.zeros(1, 3, 2, 2, dtype=torch.uint8)
    crops[0, 0], crops[0, 1], crops[0, 2] = 200, 100, 7  # R, G, B
    bgr = network_input(crops, "bgr255")
    assert bgr.dtype == torch.float32
    assert bgr[0, :, 0, 0].tolist() == [7.0, 100.0, 200.0]  # B, G, R; 0-255, not normalised
    imagenet = network_input(crops, "imagenet")
    expected = [(v / 255 - m) / s for v, m, s in zip((200, 100, 7), IMAGENET_MEAN, IMAGENET_STD)]
    torch.testing.assert_close(imagenet[0, :, 1, 1], torch.tensor(expected), rtol=1e-6, atol=1e-6)
    inception = network_input(crops, "inception")  # the journal's ViT: RGB, (x/255 - 0.5)/0.5
    torch.testing.assert_close(inception[0, :, 0, 1], torch.tensor([200 / 127.5 - 1, 100 / 127.5 - 1, 7 / 127.5 - 1]))
    assert set(PIXELS) == set(CHOICES["data.pixels"])  # the config's choices are the ones that exist
    with pytest.raises(KeyError, match=r"unknown pixel convention 'rgb'; valid: \['bgr255', 'imagenet', 'inception'\]"):
        network_input(crops, "rgb")


def small_batch():
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (2, 3, 4, 3, 32, 16), generator=g, dtype=torch.uint8)
    mask = torch.zeros(2, 3, 4, dtype=torch.bool)
    for b, k, n in [(0, 0, 2), (0, 1, 4), (0, 2, 3), (1, 0, 2), (1, 1, 3)]:  # image (1, 2): padding
        mask[b, k, :n] = True
    return images, mask


def test_one_forward_pass_per_image_is_the_released_batchnorm():
    images, mask = small_batch()
    torch.manual_seed(1)
    model = build_model("resnet10", "linear", 8).train()
    sequential = copy.deepcopy(model)
    batched = copy.deepcopy(model)
    cpu = torch.device("cpu")
    feats = embed_batch(model, images, mask, cpu, pixels="bgr255", forward="per_image")  # (B, K, N, D)
    # the reference: the released loop, the whole network on one image's crops, image after image
    weights = torch.randn(feats.shape, generator=torch.Generator().manual_seed(3))
    reference = torch.zeros_like(feats)
    for b in range(2):
        for k in range(3):
            if mask[b, k].any():
                x = network_input(images[b, k][mask[b, k]], "bgr255")
                reference[b, k][mask[b, k]] = torch.nn.functional.normalize(sequential.backbone(x), dim=1)
    torch.testing.assert_close(feats, reference, rtol=1e-5, atol=1e-6)
    assert (feats[~mask] == 0).all()
    (feats * weights).sum().backward()  # and the same gradients
    (reference * weights).sum().backward()
    for (name, p), q in zip(model.named_parameters(), sequential.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-5 * float(q.grad.abs().max()), msg=name)
    for name, value in model.state_dict().items():  # running statistics updated once per image
        torch.testing.assert_close(value, sequential.state_dict()[name], rtol=1e-5, atol=1e-6, msg=name)
    assert model.backbone.bn1.num_batches_tracked.item() == 5
    # one pass over all crops normalises with other statistics: other features, other running stats
    one = embed_batch(batched, images, mask, cpu, pixels="bgr255", forward="batched")
    assert not torch.allclose(one[mask], feats[mask], atol=1e-3)
    assert batched.backbone.bn1.num_batches_tracked.item() == 1
    assert not torch.allclose(batched.backbone.bn1.running_mean, model.backbone.bn1.running_mean)
    # in eval mode (validation, tracking) the two are the same
    model.eval()
    torch.testing.assert_close(embed_batch(model, images, mask, cpu, forward="per_image"),
                               embed_batch(model, images, mask, cpu, forward="batched"), rtol=1e-4, atol=1e-5)
    with pytest.raises(KeyError, match="unknown forward 'looped'"):
        embed_batch(model, images, mask, cpu, forward="looped")
    with pytest.raises(ValueError, match="sum to 3, but there are 4 crops"):
        model(torch.zeros(4, 3, 32, 16), sizes=[1, 2])


def test_tracking_feeds_the_network_the_pixels_it_was_trained_on(tmp_path):
    torch.manual_seed(2)
    model = build_model("resnet10", "linear", 8)

    def checkpoint(name, data):
        save_checkpoint(tmp_path / name, {
            "model": model.state_dict(), "optimizer": {}, "scheduler": {}, "scaler": None, "step": 1, "epoch": 0,
            "rng": {}, "best": {}, "config": {"model": {"backbone": "resnet10", "head": "linear", "embed_dim": 8,
                                                        "weights": "none"}, "data": data}})
        return str(tmp_path / name)

    size = {"crop_height": 32, "crop_width": 16}
    released = load_model(checkpoint("bgr.pt", {**size, "pixels": "bgr255"}), None, (0, 0), 0, pixels="imagenet")
    assert released.pixels == "bgr255" and released.crop_size == (32, 16)
    older = load_model(checkpoint("old.pt", size), None, (0, 0), 0, pixels="bgr255")
    assert older.pixels == "imagenet"  # checkpoints from before data.pixels were trained on ImageNet pixels
    untrained = load_model("none", ModelConfig(backbone="resnet10", head="linear", embed_dim=8), (32, 16), 0,
                           pixels="bgr255")
    assert untrained.pixels == "bgr255"  # random weights: the configured convention
