"""Every PNG kind a silhouette tree may hold is read as the 8-bit frame it shows."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from gaitbench.data.prep import prep, read_png
from gaitbench.errors import GaitbenchError


def _mask() -> np.ndarray:
    """A walker-sized blob with a soft edge: 0, 255 and values between."""
    img = np.zeros((240, 320), np.uint8)
    cv2.ellipse(img, (160, 120), (25, 80), 0, 0, 360, 255, -1)
    img[40:200, 130] = 128
    return img


def _write(kind: str, path, mask: np.ndarray) -> None:
    if kind == "grey8":
        cv2.imwrite(str(path), mask)
    elif kind == "grey16-0-255":  # an 8-bit mask saved with 16-bit samples
        cv2.imwrite(str(path), mask.astype(np.uint16))
    elif kind == "grey16-full":
        cv2.imwrite(str(path), mask.astype(np.uint16) * 257)
    elif kind == "grey16-12bit":
        cv2.imwrite(str(path), (mask.astype(np.uint32) * 4095 // 255).astype(np.uint16))
    elif kind == "rgb":
        cv2.imwrite(str(path), cv2.cvtColor(mask, cv2.COLOR_GRAY2BGR))
    elif kind == "rgba":
        Image.fromarray(np.dstack([mask, mask, mask, np.full_like(mask, 255)]), "RGBA").save(path)
    elif kind == "palette":
        Image.fromarray(mask, "L").convert("P").save(path)
    else:
        raise AssertionError(kind)


KINDS = ["grey8", "grey16-0-255", "grey16-full", "grey16-12bit", "rgb", "rgba", "palette"]


@pytest.mark.parametrize("kind", KINDS)
def test_each_png_kind_reads_as_its_8_bit_frame(tmp_path, kind):
    mask = _mask()
    path = tmp_path / f"{kind}.png"
    _write(kind, path, mask)
    frame = read_png(path)
    assert frame.dtype == np.uint8 and frame.shape == mask.shape
    if kind == "grey16-12bit":  # 12-bit steps: within one level of the 8-bit mask
        assert np.abs(frame.astype(int) - mask).max() <= 1
    else:
        np.testing.assert_array_equal(frame, mask)


def test_16_bit_frames_are_kept_by_prep_not_dropped_as_empty(tmp_path):
    folder = tmp_path / "raw" / "001" / "nm-01" / "090"
    folder.mkdir(parents=True)
    for t in range(6):
        mask = np.roll(_mask(), 4 * t, axis=1)
        cv2.imwrite(str(folder / f"001-nm-01-090-{t + 1:03d}.png"), mask.astype(np.uint16))
    summary = prep("casia-b", tmp_path / "raw", tmp_path / "s.h5", workers=1)
    assert summary.frames_kept == 6 and summary.frames_dropped == 0


def test_a_png_of_float_samples_is_refused(tmp_path):
    path = tmp_path / "f.png"
    path.write_bytes(b"")  # OpenCV writes no float PNG; a 32-bit float TIFF named .png will do
    cv2.imwrite(str(tmp_path / "f.tiff"), _mask().astype(np.float32))
    (tmp_path / "f.tiff").rename(path)
    with pytest.raises(GaitbenchError, match=r"f\.png holds float32 pixels"):
        read_png(path)
