"""Decode the PNG screenshots Chromium writes, in pure Python (the stack has no imaging library).

Only what Chromium produces: 8-bit RGB or RGBA, not interlaced. Returns pixels as RGB tuples.
"""

from __future__ import annotations

import struct
import zlib
from collections import Counter
from dataclasses import dataclass

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {2: 3, 6: 4}  # colour type -> bytes per pixel at 8 bits per channel


@dataclass(frozen=True)
class Image:
    width: int
    height: int
    rows: tuple[bytes, ...]  # unfiltered scanlines
    bpp: int

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        i = x * self.bpp
        return tuple(self.rows[y][i:i + 3])

    def colours(self, x0: int = 0, x1: int | None = None) -> Counter:
        """How many pixels of each RGB colour, in columns x0 up to x1."""
        x1 = self.width if x1 is None else x1
        counts: Counter = Counter()
        for row in self.rows:
            part = row[x0 * self.bpp:x1 * self.bpp]
            channels = [part[c::self.bpp] for c in range(3)]
            counts.update(zip(*channels))
        return counts

    def inked(self, colours: Counter | None = None) -> float:
        """The share of pixels that are not white (from `colours()` when already counted)."""
        colours = self.colours() if colours is None else colours
        return sum(n for c, n in colours.items() if c != (255, 255, 255)) / (self.width * self.height)


def decode(data: bytes) -> Image:
    if not data.startswith(SIGNATURE):
        raise ValueError("not a PNG file")
    pos, idat, header = len(SIGNATURE), [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat.append(chunk)
        elif kind == b"IEND":
            break
    if header is None:
        raise ValueError("PNG without IHDR")
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in CHANNELS or interlace:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour}, interlace {interlace}")
    bpp = CHANNELS[colour]
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    rows, prior = [], bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        line = _unfilter(raw[start], bytearray(raw[start + 1:start + 1 + stride]), prior, bpp)
        rows.append(bytes(line))
        prior = line
    return Image(width, height, tuple(rows), bpp)


def _unfilter(kind: int, line: bytearray, prior: bytes, bpp: int) -> bytearray:
    n = len(line)
    if kind == 0:
        return line
    if kind == 2:  # up: independent per byte, so it can be done in one pass
        return bytearray((a + b) & 0xFF for a, b in zip(line, prior))
    for i in range(n):
        left = line[i - bpp] if i >= bpp else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + ((left + prior[i]) >> 1)) & 0xFF
        elif kind == 4:
            up, corner = prior[i], prior[i - bpp] if i >= bpp else 0
            p = left + up - corner
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
            pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
            line[i] = (line[i] + pred) & 0xFF
        else:
            raise ValueError(f"bad PNG filter type {kind}")
    return line
