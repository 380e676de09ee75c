"""Where a view's frames come from: a folder of images or one video file.

A view folder of the layout (:mod:`loader.layout`) holds either ``images/<n>.jpg`` (frame number
= the first integer in the file name) or one ``video.<ext>`` (``VIDEO_SUFFIXES``; a symlink is
fine), whose frame numbers are ``first_frame + i`` for the ``i``-th decoded frame (0-based;
``first_frame`` is the manifest's per-scene ``first_frame``, default 0). :func:`view_source` picks
the kind; everything that reads frames (box table, crop cache, crops, rendering, detection) goes
through a source's :meth:`read`, so no caller branches on the kind.

A video is decoded sequentially: a :class:`VideoFile` keeps its decoder open and, asked for a
later frame, decodes forward to it (no seek). Reading frames in increasing order therefore decodes
the video once; asking for an earlier frame than the last one restarts decoding from the first
frame (counted in ``restarts``), which is correct but slow: callers read in frame order (the crop
cache is built view by view in frame order; inference reads every view in frame order). The frame
count is the container's index (``CAP_PROP_FRAME_COUNT``); a video that turns out shorter is an
error naming the file and frame when decoding reaches its end.

:class:`VideoWriter` writes an mp4v video that appears under its name only when complete (the
synthetic generator's video views, the rendered tracking videos).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from errors import OutputError
from loader.crops import read_image
from loader.layout import IMAGE_SUFFIXES, DatasetError, frame_number

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".mpg", ".mpeg", ".webm")
VIDEO_STEM = "video"  # a view's video file is video.<ext>


def image_files(folder: Path) -> list:
    """The image files (``IMAGE_SUFFIXES``) directly in ``folder``, sorted by name."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def image_size(path: Union[str, Path]) -> Tuple[int, int]:
    """``(width, height)`` of an image file, decoded and checked as :func:`loader.crops.read_image` does."""
    image = read_image(path, cv2.IMREAD_GRAYSCALE)
    return image.shape[1], image.shape[0]


class ImageFolder:
    """Frames as image files ``<folder>/<n>.<ext>``; frame number = ``frame_of(file name)``
    (default: the first integer in the name)."""

    kind = "images"

    def __init__(self, folder: Union[str, Path], frame_of: Callable[[str], int] = frame_number):
        self.where = Path(folder)
        if not self.where.is_dir():
            raise FileNotFoundError(f"image folder not found: {self.where}")
        paths: dict = {}
        for p in image_files(self.where):
            n = frame_of(p.name)
            if n in paths:
                raise DatasetError(f"two images for frame {n}: {paths[n]} and {p}")
            paths[n] = p
        self.paths = paths  # frame number -> image path
        self.frames = sorted(paths)  # frame numbers that have an image (callers must not modify it)

    def path(self, frame: int) -> Path:
        try:
            return self.paths[frame]
        except KeyError:
            raise FileNotFoundError(f"image of frame {frame} not found in {self.where}") from None

    def read(self, frame: int, size: Optional[Tuple[int, int]] = None) -> np.ndarray:
        """BGR uint8 ``(H, W, 3)`` of ``frame``; ``size = (width, height)`` it must have."""
        return read_image(self.path(frame), cv2.IMREAD_COLOR, size)

    def image_size(self, frame: int) -> Tuple[int, int]:
        """``(width, height)`` of the image of ``frame``."""
        return image_size(self.path(frame))

    def describe(self, frame: int) -> str:
        """What identifies the file of ``frame`` in a cache fingerprint: name and byte size."""
        p = self.path(frame)
        return f"{p.name}:{p.stat().st_size}"

    def close(self) -> None:
        pass


class VideoFile:
    """Frames decoded from one video file in order (see the module docstring)."""

    kind = "video"

    def __init__(self, path: Union[str, Path], first_frame: int = 0):
        self.where = Path(path)
        self.first_frame = int(first_frame)
        self._capture = None
        if not self.where.is_file():
            raise FileNotFoundError(f"video not found: {self.where}")
        capture = self._open_capture()
        try:
            self.count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
            self.size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
            self.fps = float(capture.get(cv2.CAP_PROP_FPS))
        finally:
            capture.release()
        if self.count <= 0:
            raise DatasetError(f"{self.where}: the video's container gives no frame count; re-mux it "
                               f"(e.g. ffmpeg -i IN -c copy OUT.mp4)")
        self.bytes = self.where.stat().st_size
        # frame numbers of the video: first_frame ... first_frame + count - 1 (callers must not modify it)
        self.frames = list(range(self.first_frame, self.first_frame + self.count))
        self._next = 0  # index of the frame the open decoder returns next
        self.restarts = 0  # decoder restarts caused by reading an earlier frame

    def _open_capture(self):
        capture = cv2.VideoCapture(str(self.where))
        if not capture.isOpened():
            raise DatasetError(f"{self.where}: cannot open the video (not a video file, or a codec "
                               f"OpenCV's FFmpeg cannot decode)")
        return capture

    def _index(self, frame: int) -> int:
        i = int(frame) - self.first_frame
        if not 0 <= i < self.count:
            raise FileNotFoundError(f"frame {frame} not in video {self.where} (its frames are "
                                    f"{self.first_frame}-{self.first_frame + self.count - 1})")
        return i

    def _ended(self, i: int) -> DatasetError:
        return DatasetError(f"{self.where}: the video ends after {i} frames, but its index says {self.count} "
                            f"(frame {self.first_frame + i} cannot be decoded; a cut or corrupt file?)")

    def read(self, frame: int, size: Optional[Tuple[int, int]] = None) -> np.ndarray:
        """BGR uint8 ``(H, W, 3)`` of ``frame``, decoding forward from the last frame read."""
        i = self._index(frame)
        if self._capture is None or i < self._next:
            if self._capture is not None:
                self._capture.release()
                self.restarts += 1
            self._capture, self._next = self._open_capture(), 0
        while self._next < i:
            if not self._capture.grab():
                raise self._ended(self._next)
            self._next += 1
        ok, image = self._capture.read()
        if not ok or image is None:
            raise self._ended(self._next)
        self._next += 1
        if size is not None and (image.shape[1], image.shape[0]) != tuple(size):
            raise DatasetError(f"{self.where}: frame {frame} is {image.shape[1]}x{image.shape[0]}, expected "
                               f"{size[0]}x{size[1]}")
        return image

    def image_size(self, frame: int) -> Tuple[int, int]:
        """``(width, height)`` of every frame (the container's)."""
        self._index(frame)
        return self.size

    def describe(self, frame: int) -> str:
        """What identifies ``frame`` in a cache fingerprint: the file's name and byte size, the frame."""
        return f"{self.where.name}:{self.bytes}@{int(frame)}"

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
        self._capture, self._next = None, 0

    def __getstate__(self):  # a decoder does not pickle: a copy (DataLoader worker) opens its own
        state = dict(self.__dict__)
        state["_capture"], state["_next"] = None, 0
        return state

    def __del__(self):
        self.close()


FrameSource = Union[ImageFolder, VideoFile]


def find_video(view_dir: Path) -> Optional[Path]:
    """The ``video.<ext>`` of a view folder, or None; more than one is an error."""
    if not view_dir.is_dir():
        return None
    found = sorted(p for p in view_dir.iterdir() if p.stem == VIDEO_STEM and p.suffix.lower() in VIDEO_SUFFIXES)
    if len(found) > 1:
        raise DatasetError(f"{view_dir}: more than one video ({', '.join(p.name for p in found)}); keep one")
    return found[0] if found else None


def view_source(view_dir: Union[str, Path], first_frame: int = 0) -> FrameSource:
    """The frames of a view folder: its ``images/`` folder or its ``video.<ext>`` (not both)."""
    view_dir = Path(view_dir)
    folder, video = view_dir / "images", find_video(view_dir)
    if video is not None and folder.is_dir():
        raise DatasetError(f"{view_dir}: holds both images/ and {video.name}; a view is one or the other")
    if video is not None:
        return VideoFile(video, first_frame)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder not found: {folder} (nor a video file "
                                f"{VIDEO_STEM}.<{'|'.join(s[1:] for s in VIDEO_SUFFIXES)}> in {view_dir})")
    return ImageFolder(folder)


def read_frames(source: FrameSource, frames: Sequence[int],
                size: Optional[Tuple[int, int]] = None) -> Iterator[Tuple[int, np.ndarray]]:
    """``(frame, BGR image)`` for ``frames`` in increasing order (one decoding pass for a video)."""
    for frame in sorted(int(f) for f in frames):
        yield frame, source.read(frame, size)


class VideoWriter:
    """An mp4v writer that becomes ``path`` only when closed after a complete run, checked: the
    writer must open, take every frame, and the finished file must hold every frame (OpenCV's
    writer fails silently on a full disk); else an :class:`~errors.OutputError` naming ``path``."""

    def __init__(self, path: Path, fps: float):
        self.path, self.fps, self.writer, self.frames = Path(path), fps, None, 0
        self.tmp = self.path.with_name(f".{self.path.stem}.partial.mp4")

    def write(self, frame: np.ndarray) -> None:
        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.writer = cv2.VideoWriter(str(self.tmp), cv2.VideoWriter_fourcc(*"mp4v"), self.fps,
                                          (frame.shape[1], frame.shape[0]))
            if not self.writer.isOpened():
                raise OutputError(f"cannot write video {self.path}: OpenCV cannot open an mp4v writer for {self.tmp}")
        if self.writer.write(frame) is False:  # OpenCV 5 says; before, write() returned None
            raise OutputError(f"cannot write video {self.path}: frame {self.frames + 1} was not written "
                              f"(disk full?)")
        self.frames += 1

    def close(self, complete: bool = True) -> None:
        """Finish the file and move it into place (``complete``) or remove it; a second call does nothing."""
        if self.writer is None:
            return
        self.writer.release()
        self.writer = None
        if not complete:
            self.tmp.unlink(missing_ok=True)
            return
        found = video_frames(self.tmp)
        if found != self.frames:
            self.tmp.unlink(missing_ok=True)
            raise OutputError(f"cannot write video {self.path}: the finished file holds {found} of {self.frames} "
                              f"frames (disk full?)")
        os.replace(self.tmp, self.path)


def video_frames(path: Path) -> int:
    """The number of frames a video file holds by its container's index (0 if it cannot be opened)."""
    capture = cv2.VideoCapture(str(path))
    try:
        return int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() else 0
    finally:
        capture.release()
