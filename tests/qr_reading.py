"""Reading a QR code back as a phone would: the SVG drawn by the server, rasterised here from its
path (each `h n` is a run of dark modules), and decoded by zxing-cpp, which knows nothing of
how it was made."""

from __future__ import annotations

import re
from urllib.parse import unquote

import zxingcpp
from PIL import Image

_STEP = re.compile(r"([MmHh])\s*(-?[\d.]+)(?:[\s,]+(-?[\d.]+))?")


def svg_of(data_uri: str) -> str:
    head, _, body = data_uri.partition(",")
    assert head.startswith("data:image/svg+xml"), head
    return unquote(body)


def rasterise(svg: str, module_px: int = 8) -> Image.Image:
    size = int(float(re.search(r"width='([\d.]+)'", svg).group(1)))  # type: ignore[union-attr]
    scale = float(re.search(r"scale\(([\d.]+)\)", svg).group(1))  # type: ignore[union-attr]
    modules = round(size / scale)
    image = Image.new("L", (modules * module_px, modules * module_px), 255)
    path = re.search(r" d='([^']+)'", svg).group(1)  # type: ignore[union-attr]
    x = y = 0.0
    for op, a, b in _STEP.findall(path):
        if op == "M":
            x, y = float(a), float(b)
        elif op == "m":
            x, y = x + float(a), y + float(b)
        else:  # h: a run of dark modules on row y - 0.5
            run = float(a) if op == "h" else float(a) - x
            row = int(y - 0.5)
            for col in range(int(x), int(x + run)):
                image.paste(
                    0,
                    (
                        col * module_px,
                        row * module_px,
                        (col + 1) * module_px,
                        (row + 1) * module_px,
                    ),
                )
            x += run
    return image


def read_qr(data_uri: str) -> str:
    found = zxingcpp.read_barcodes(rasterise(svg_of(data_uri)))
    assert len(found) == 1, found
    return found[0].text
