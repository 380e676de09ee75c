"""The one drawing module: one colour per ID in tracking frames and synthetic previews; mosaics."""
import numpy as np

from datasets.synthetic.preview import draw_preview
from drawing import draw_tracks, id_color, mosaic

ROW = np.array([[1, 7, 20, 30, 40, 60, 1, -1, -1, -1]], dtype=np.float64)  # ID 7 at (20, 30), 40 x 60


def test_one_id_has_one_colour_in_tracking_frames_and_previews():
    image = np.zeros((120, 160, 3), np.uint8)
    frame = draw_tracks(image.copy(), ROW, "view 1  frame 1")
    preview = draw_preview([image, image], [ROW, ROW[:0]], ["1", "2"])
    for drawn in (frame, preview):
        assert tuple(int(c) for c in drawn[30, 40]) == id_color(7)  # the box's top edge
        assert tuple(int(c) for c in drawn[60, 20]) == id_color(7)  # its left edge
    assert not image.any()  # the preview draws on copies
    assert id_color(7) != id_color(8) and id_color(7) == id_color(7)


def test_mosaic_tiles_resized_or_as_they_are():
    a, b, c = (np.full((30, 40, 3), v, np.uint8) for v in (1, 2, 3))
    grid = mosaic([a, b, c], width=None)  # near-square: 2 x 2, the last cell black
    assert grid.shape == (60, 80, 3)
    assert (grid[:30, :40] == 1).all() and (grid[:30, 40:] == 2).all() and (grid[30:, :40] == 3).all()
    assert not grid[30:, 40:].any()
    assert mosaic([a, b, c], width=None, cols=3).shape == (30, 120, 3)
    assert mosaic([a, b, c], width=200).shape == (2 * 75, 200, 3)  # cells 100 x 75
