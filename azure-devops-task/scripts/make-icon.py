"""Draw images/icon.png (128x128): three pipeline stages joined by a line, on a rounded tile.

Standard library only (zlib + struct), so it runs anywhere: `python3 scripts/make-icon.py`.
Shapes are sampled 4x4 per pixel for smooth edges.
"""

import math
import struct
import zlib
from pathlib import Path

SIZE = 128
SAMPLES = 4
TOP = (0x0F, 0x7B, 0x6C)  # teal
BOTTOM = (0x0B, 0x4F, 0x8A)  # deep blue
WHITE = (0xFF, 0xFF, 0xFF)
STAGES = [(32.0, 64.0), (64.0, 64.0), (96.0, 64.0)]


def in_tile(x: float, y: float, radius: float = 22.0, margin: float = 4.0) -> bool:
    lo, hi = margin + radius, SIZE - margin - radius
    cx, cy = min(max(x, lo), hi), min(max(y, lo), hi)
    return (x - cx) ** 2 + (y - cy) ** 2 <= radius**2


def in_glyph(x: float, y: float) -> bool:
    # The line between the stages (not inside them), a ring per stage, the last one filled: the target.
    on_line = STAGES[0][0] <= x <= STAGES[-1][0] and abs(y - 64.0) <= 4.0
    if on_line and all(math.hypot(x - cx, y - cy) >= 12.0 for cx, cy in STAGES):
        return True
    for index, (cx, cy) in enumerate(STAGES):
        d = math.hypot(x - cx, y - cy)
        if 9.0 <= d <= 15.0 or (index == len(STAGES) - 1 and d <= 6.0):
            return True
    return False


def pixel(px: int, py: int) -> tuple[int, int, int, int]:
    tile = glyph = 0
    for sy in range(SAMPLES):
        for sx in range(SAMPLES):
            x, y = px + (sx + 0.5) / SAMPLES, py + (sy + 0.5) / SAMPLES
            if in_tile(x, y):
                tile += 1
                glyph += in_glyph(x, y)
    total = SAMPLES * SAMPLES
    if tile == 0:
        return (0, 0, 0, 0)
    t = py / (SIZE - 1)
    back = [round(a + (b - a) * t) for a, b in zip(TOP, BOTTOM, strict=True)]
    share = glyph / tile
    rgb = [round(b + (w - b) * share) for b, w in zip(back, WHITE, strict=True)]
    return (rgb[0], rgb[1], rgb[2], round(255 * tile / total))


def png(width: int, height: int, rows: list[bytes]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + row for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def main() -> None:
    rows = [b"".join(bytes(pixel(x, y)) for x in range(SIZE)) for y in range(SIZE)]
    out = Path(__file__).resolve().parent.parent / "images" / "icon.png"
    out.parent.mkdir(exist_ok=True)
    out.write_bytes(png(SIZE, SIZE, rows))
    print(f"{out}: {out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
