"""The built-in person detector: filtering of detector outputs, random-weight models on the CPU,
weights from a file or the torch cache (never downloaded), det.txt rows."""
import numpy as np
import pytest
import torch

from datasets.synthetic.generate import generate_dataset
from errors import UnknownNameError
from loader.frames import view_source
from loader.mot import read_mot, write_mot
from pipeline.detect import (PERSON, DetectorWeightsError, cached_weights_path, detect_frames, load_detector,
                             make_detector, to_rows)


def fake(boxes, labels, scores):
    return {"boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4), "labels": torch.tensor(labels),
            "scores": torch.tensor(scores, dtype=torch.float32)}


def test_rows_keep_people_above_the_score_clipped_to_the_image():
    out = fake([[10, 20, 30, 60],     # person 0.9: kept as is
                [-5, -2, 20, 40],     # person 0.6: clipped to x 0..20, y 0..40
                [0, 0, 10, 10],       # class 2 (bicycle), 0.99: not a person
                [1, 1, 5, 5],         # person 0.4: below the score
                [150, 10, 170, 50],   # person 0.5 (exactly the threshold): clipped to x 150..160
                [200, 10, 250, 50]],  # person 0.9, wholly right of the 160-wide image: no pixel left
               [PERSON, PERSON, 2, PERSON, PERSON, PERSON], [0.9, 0.6, 0.99, 0.4, 0.5, 0.9])
    rows = to_rows([out, fake([], [], [])], [7, 8], size=(160, 96), min_score=0.5)
    expected = np.array([[7, -1, 10, 20, 20, 40, 0.9, -1, -1, -1],
                         [7, -1, 0, 0, 20, 40, 0.6, -1, -1, -1],
                         [7, -1, 150, 10, 10, 40, 0.5, -1, -1, -1]])
    np.testing.assert_allclose(rows, expected, atol=1e-6)
    assert to_rows([out], [0], size=(160, 96), min_score=0.95).shape == (0, 10)
    assert to_rows([out], [0], size=(160, 96), min_score=0.95, label=2).shape == (1, 10)  # another class
    with pytest.raises(ValueError, match="2 outputs for 1 frames"):
        to_rows([out, out], [0], size=(160, 96))


def test_rows_make_a_det_txt_that_reads_back(tmp_path):
    rows = to_rows([fake([[10.25, 20.5, 30.75, 60]], [PERSON], [0.875])], [3], size=(160, 96))
    write_mot(tmp_path / "det.txt", rows)
    assert (tmp_path / "det.txt").read_text() == "3,-1,10.25,20.50,20.50,39.50,0.875,-1,-1,-1\n"
    np.testing.assert_array_equal(read_mot(tmp_path / "det.txt"), rows)


def test_default_detector_with_random_weights_gives_torchvision_outputs():
    torch.manual_seed(0)
    model = make_detector("fasterrcnn_resnet50_fpn_v2", min_size=64, max_size=96)
    with torch.no_grad():
        out = model([torch.rand(3, 48, 64), torch.rand(3, 48, 64)])
    assert len(out) == 2
    for o in out:
        n = len(o["scores"])
        assert o["boxes"].shape == (n, 4) and o["labels"].shape == (n,)
        assert (o["boxes"][:, 2] >= o["boxes"][:, 0]).all() and (o["boxes"] <= 64).all()


def person_biased_ssdlite(seed: int = 0) -> torch.nn.Module:
    """SSDLite with random weights whose coarsest head says "person" for its few anchors: a
    detector that finds a handful of (arbitrary) people per frame, quickly, on the CPU."""
    torch.manual_seed(seed)
    model = make_detector("ssdlite320_mobilenet_v3_large")
    with torch.no_grad():
        model.head.classification_head.module_list[-1][-1].bias.view(-1, 91)[:, PERSON] = 20.0
    return model


def test_detect_frames_reads_a_video_in_order_in_batches(tmp_path):
    generate_dataset(tmp_path / "d", scenes=1, views=1, frames=5, people=(2, 2), size=(160, 96), video=True,
                     progress=False)
    source = view_source(tmp_path / "d" / "1" / "1")
    model = person_biased_ssdlite()
    rows = detect_frames(model, source, [4, 0, 1, 2, 3], batch_size=2, min_score=0.5, progress=False)
    assert source.restarts == 0  # one decoding pass
    assert rows.shape[1] == 10 and len(rows) >= 5
    assert set(rows[:, 0].astype(int)) == set(range(5)) and (np.diff(rows[:, 0]) >= 0).all()
    assert (rows[:, 1] == -1).all() and (rows[:, 6] >= 0.5).all() and (rows[:, 7:] == -1).all()
    assert (rows[:, 4] > 0).all() and (rows[:, 5] > 0).all()
    assert (rows[:, 2] >= 0).all() and (rows[:, 2] + rows[:, 4] <= 160 + 1e-6).all()
    assert (rows[:, 3] >= 0).all() and (rows[:, 3] + rows[:, 5] <= 96 + 1e-6).all()
    # batching does not change what is found
    single = detect_frames(model, source, range(5), batch_size=1, min_score=0.5, progress=False)
    np.testing.assert_allclose(single, rows, atol=1e-3)


def test_weights_come_from_a_file_or_the_torch_cache_never_downloaded(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "hub"))
    name = "ssdlite320_mobilenet_v3_large"
    path = cached_weights_path(name)
    assert path == tmp_path / "hub" / "hub" / "checkpoints" / path.name and path.name.startswith("ssdlite320")
    with pytest.raises(DetectorWeightsError, match=rf"put {path.name} \(from https://\S+\) at {path}"):
        load_detector(name)
    state = person_biased_ssdlite(seed=1).state_dict()
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    loaded = load_detector(name).state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in state.items())
    torch.save({"model": state}, tmp_path / "ck.pth")  # torchvision reference-scripts checkpoint
    assert torch.equal(load_detector(name, tmp_path / "ck.pth").state_dict()["head.classification_head."
                                                                             "module_list.5.1.bias"],
                       state["head.classification_head.module_list.5.1.bias"])
    with pytest.raises(DetectorWeightsError, match=r"detector weights file not found: .*nope.pth"):
        load_detector(name, tmp_path / "nope.pth")
    torch.save({"conv.weight": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(DetectorWeightsError, match=r"other.pth: not a state dict of torchvision's ssdlite320"):
        load_detector(name, tmp_path / "other.pth")
    with pytest.raises(UnknownNameError, match=r"unknown detector 'yolo'; valid: \['fasterrcnn"):
        make_detector("yolo")
