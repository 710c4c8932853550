"""Scanning with the camera: Chromium's fake capture device plays a video of a real item's QR code.

The video is a Y4M file (the raw format Chromium's ``--use-file-for-fake-video-capture`` reads)
drawn here from the QR matrix segno makes for the item's Digital Link, so the page's camera path
(@zxing/browser on a live MediaStream) is exercised end to end, not mocked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import segno

from tests.e2e.browser import drive_script

pytestmark = pytest.mark.e2e

WIDTH, HEIGHT, FRAMES = 640, 480, 10


def qr_video(text: str, path: Path) -> Path:
    """A Y4M (4:2:0) video of ``text``'s QR code, black on white, centred, ``FRAMES`` frames long."""
    matrix = [list(row) for row in segno.make(text, error="m").matrix]
    modules = len(matrix) + 8  # quiet zone of 4 modules each side
    scale = min(WIDTH, HEIGHT) // modules
    left, top = (WIDTH - modules * scale) // 2, (HEIGHT - modules * scale) // 2
    luma = bytearray(b"\xff" * (WIDTH * HEIGHT))
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                for y in range(top + (r + 4) * scale, top + (r + 5) * scale):
                    start = y * WIDTH + left + (c + 4) * scale
                    luma[start : start + scale] = b"\x00" * scale
    chroma = b"\x80" * (WIDTH * HEIGHT // 4)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(FRAMES):
            out.write(b"FRAME\n" + bytes(luma) + chroma + chroma)
    return path


def test_qr_video_has_the_y4m_layout(tmp_path: Path) -> None:
    video = qr_video("https://id.gs1.org/01/09506000134352/21/ABC", tmp_path / "qr.y4m")
    data = video.read_bytes()
    header, _, body = data.partition(b"\n")
    assert header == b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg"
    frame = len(b"FRAME\n") + WIDTH * HEIGHT * 3 // 2
    assert len(body) == FRAMES * frame and body.count(b"FRAME\n") >= FRAMES
    luma = body[6 : 6 + WIDTH * HEIGHT]
    assert luma[0] == 0xFF and 0 < luma.count(0) < WIDTH * HEIGHT // 2  # white margin, some dark modules


def test_scan_with_the_camera_opens_the_item(page_demo: dict[str, Any], tmp_path: Path) -> None:
    item = page_demo["items"]["authentic"]
    result = drive_script("camera.mjs", {"base": page_demo["base"], "video": str(qr_video(item, tmp_path / "qr.y4m"))})
    assert "failure" not in result, result["failure"]
    assert result["state"] == "ready", result
    assert result["input"] == item and result["verdict"] == "authentic"
    assert result["cameraHidden"] is True  # the camera stops once a code is read
    assert result["consoleErrors"] == []
    assert Path(result["screenshot"]).is_file()
