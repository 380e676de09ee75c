import cv2
import numpy as np
import pytest
import torch

from datasets.toy import write_toy_dataset
from loader.boxes import build_box_table
from loader.cache import CacheMismatch, CropCache, cache_dir_for, open_or_build_cache
from loader.crops import IMAGENET_MEAN, IMAGENET_STD, crop_boxes, image_crops, normalize, read_image
from loader.layout import DatasetError, DatasetLayout
from loader.mot import read_mot, write_mot
from loader.samples import MultiViewSamples, build_samples, collate_samples


@pytest.fixture
def toy(tmp_path):
    return write_toy_dataset(tmp_path / "data", views=("1", "2", "3"), frames=range(10), people=3,
                             train=(0, 8), test=(8, 10))


def test_item_shapes_order_and_ids(toy):
    layout = DatasetLayout(toy)
    ds = build_samples(layout, "train", views=2, frames=2, crop_size=(32, 16))
    assert len(ds) == 4 and ds.samples[1] == ("1", ("1", "2"), (2, 3))
    item = ds[1]
    assert item["images"].shape == (4, 3, 3, 32, 16) and item["images"].dtype == np.uint8
    assert item["mask"].all() and set(item["ids"].ravel()) == {1, 2, 3}
    # image k = view k // T, frame k % T: image 3 is view "2" at frame 3, crops in gt.txt order
    gt = read_mot(toy / "1" / "2" / "gt_det" / "gt.txt")
    rows = gt[gt[:, 0] == 3]
    np.testing.assert_array_equal(item["ids"][3], rows[:, 1])
    image = cv2.cvtColor(read_image(toy / "1" / "2" / "images" / "3.jpg"), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(item["images"][3], crop_boxes(image, rows[:, 2:6], (32, 16)))


def test_crops_are_rgb(toy):
    image = np.zeros((48, 64, 3), np.uint8)  # the toy's image size
    image[..., 2] = 200  # red in OpenCV's BGR order
    cv2.imwrite(str(toy / "1" / "2" / "images" / "3.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 100])
    layout = DatasetLayout(toy)
    crops = image_crops(build_box_table(layout, "train"), layout, "1", "2", 3, (4, 4))  # what samples use
    assert crops.shape == (3, 3, 4, 4) and (crops[:, 0] > 190).all() and (crops[:, 2] < 10).all()


def test_frame_gap_and_stride(toy):
    ds = build_samples(DatasetLayout(toy), "train", views=3, frames=3, frame_gap=2, sample_stride=1,
                       crop_size=(16, 16))
    assert [s[2] for s in ds.samples] == [(f, f + 2, f + 4) for f in range(4)]
    assert ds[0]["images"].shape[0] == 9


def test_views_capped_by_scene(toy):
    ds = build_samples(DatasetLayout(toy), "train", views=5, frames=2, crop_size=(16, 16))
    assert ds.samples[0][1] == ("1", "2", "3") and ds[0]["images"].shape[0] == 6


def test_empty_images_excluded_and_counted(tmp_path):
    root = write_toy_dataset(tmp_path, views=("1", "2"), frames=range(8), train=(0, 8), test=(8, 10),
                             empty={("1", "2", 3), ("1", "1", 4)})
    ds = build_samples(DatasetLayout(root), "train", views=2, frames=2, crop_size=(16, 16))
    assert [s[2] for s in ds.samples] == [(0, 1), (6, 7)]
    assert ds.excluded == 2


def test_no_sample_is_an_error(tmp_path):
    root = write_toy_dataset(tmp_path, views=("1",), frames=range(2), train=(0, 1), test=(1, 2))
    with pytest.raises(ValueError, match="yields no sample"):
        build_samples(DatasetLayout(root), "train", views=1, frames=2, crop_size=(16, 16))


def test_box_on_frame_without_image_is_an_error(toy):
    path = toy / "1" / "1" / "gt_det" / "gt.txt"
    rows = read_mot(path)
    rows[0, 0] = 7.0
    write_mot(path, np.vstack([rows, [[5, 1, 1, 1, 5, 5, 1, 1, 1, -1]]]))
    (toy / "1" / "1" / "images" / "5.jpg").rename(toy / "1" / "1" / "images" / "50.jpg")
    for v in ("2", "3"):
        (toy / "1" / v / "images" / "5.jpg").rename(toy / "1" / v / "images" / "50.jpg")
    with pytest.raises(DatasetError, match=r"gt.txt: box at frame 5 but no image"):
        build_box_table(DatasetLayout(toy), "train")


def test_boxes_outside_image_dropped_and_counted(toy):
    path = toy / "1" / "1" / "gt_det" / "gt.txt"
    write_mot(path, np.vstack([read_mot(path), [[0, 9, 500, 500, 10, 10, 1, 1, 1, -1]]]))
    table = build_box_table(DatasetLayout(toy), "train")
    assert table.dropped_outside == 1 and 9 not in table.ids


@pytest.mark.parametrize("size", [(224, 224), (256, 128)])
def test_cache_equals_jpeg_path(toy, tmp_path, size):
    layout = DatasetLayout(toy)
    jpeg = build_samples(layout, "train", views=3, frames=2, crop_size=size)
    cached = build_samples(layout, "train", views=3, frames=2, crop_size=size, cache_root=tmp_path / "c",
                           progress=False)
    assert cached.cache is not None and jpeg.cache is None
    for i in range(len(jpeg)):
        a, b = jpeg[i], cached[i]
        assert a["images"].shape[-2:] == size
        for key in ("images", "mask", "ids"):
            np.testing.assert_array_equal(a[key], b[key])


def test_cache_is_checked_against_the_data(toy, tmp_path):
    layout = DatasetLayout(toy)
    table = build_box_table(layout, "train")
    cache = open_or_build_cache(table, layout, (16, 16), tmp_path, progress=False)
    meta_mtime = (cache.path / "meta.json").stat().st_mtime_ns
    assert open_or_build_cache(table, layout, (16, 16), tmp_path).meta == cache.meta  # reused
    assert (cache.path / "meta.json").stat().st_mtime_ns == meta_mtime
    # boxes changed: the old cache must be refused and rebuilt
    path = toy / "1" / "2" / "gt_det" / "gt.txt"
    rows = read_mot(path)
    rows[0, 2] += 3
    write_mot(path, rows)
    table2 = build_box_table(DatasetLayout(toy), "train")
    with pytest.raises(CacheMismatch, match="fingerprint differs"):
        from loader.cache import fingerprint
        CropCache(cache.path, expected_fingerprint=fingerprint(table2, layout, (16, 16)))
    rebuilt = open_or_build_cache(table2, DatasetLayout(toy), (16, 16), tmp_path, progress=False)
    assert rebuilt.meta["fingerprint"] != cache.meta["fingerprint"]
    ds = MultiViewSamples(table2, layout, views=3, frames=2, crop_size=(16, 16), cache=rebuilt)
    jpeg = MultiViewSamples(table2, layout, views=3, frames=2, crop_size=(16, 16))
    np.testing.assert_array_equal(ds[0]["images"], jpeg[0]["images"])


def test_truncated_cache_file_is_refused(toy, tmp_path):
    layout = DatasetLayout(toy)
    table = build_box_table(layout, "train")
    cache = open_or_build_cache(table, layout, (16, 16), tmp_path, progress=False)
    data = cache.path / "crops.u8"
    data.write_bytes(data.read_bytes()[:-10])
    with pytest.raises(CacheMismatch, match="bytes, expected"):
        CropCache(cache_dir_for(tmp_path, "train", "gt", (16, 16)))


def test_collate_pads_people_and_views(tmp_path):
    a = write_toy_dataset(tmp_path / "a", views=("1", "2", "3"), people=2)
    b = write_toy_dataset(tmp_path / "b", views=("1", "2"), people=4, seed=1)
    sa = build_samples(DatasetLayout(a), "train", views=3, frames=2, crop_size=(16, 8))[0]
    sb = build_samples(DatasetLayout(b), "train", views=3, frames=2, crop_size=(16, 8))[0]
    batch = collate_samples([sa, sb])
    assert batch["images"].shape == (2, 6, 4, 3, 16, 8) and batch["images"].dtype == torch.uint8
    assert batch["mask"].sum(dim=2).tolist() == [[2] * 6, [4] * 4 + [0] * 2]
    assert batch["image_mask"].tolist() == [[True] * 6, [True] * 4 + [False] * 2]
    assert (batch["ids"][~batch["mask"]] == -1).all() and (batch["images"][~batch["mask"]] == 0).all()
    np.testing.assert_array_equal(batch["images"][1, :4].numpy(), sb["images"])


def test_dataloader_with_workers_and_cache(toy, tmp_path):
    ds = build_samples(DatasetLayout(toy), "train", views=3, frames=2, crop_size=(16, 16),
                       cache_root=tmp_path, progress=False)
    loader = torch.utils.data.DataLoader(ds, batch_size=2, num_workers=2, collate_fn=collate_samples)
    batches = list(loader)
    assert sum(b["images"].shape[0] for b in batches) == len(ds)
    np.testing.assert_array_equal(batches[0]["images"][0].numpy(), ds[0]["images"])


def test_normalize_on_device():
    x = torch.tensor([[[[0]], [[128]], [[255]]]], dtype=torch.uint8)  # (1, 3, 1, 1)
    y = normalize(x)
    expected = [(v / 255 - m) / s for v, m, s in zip((0, 128, 255), IMAGENET_MEAN, IMAGENET_STD)]
    np.testing.assert_allclose(y.view(3).numpy(), expected, rtol=1e-6)
    assert normalize(x, torch.bfloat16).dtype == torch.bfloat16
