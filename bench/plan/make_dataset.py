"""Writes N distinct tiny images and label masks (8x8 PNGs) for the plan benchmark, with only the stdlib."""
import os, struct, sys, zlib

def png(width, height, rows, color_type):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    raw = b"".join(b"\x00" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))

root, n = sys.argv[1], int(sys.argv[2])
os.makedirs(f"{root}/images", exist_ok=True)
os.makedirs(f"{root}/masks", exist_ok=True)
for i in range(n):
    stem = f"img{i:06d}"
    rgb = [bytes(((i >> (8 * (k % 3))) + x + y) & 255 for x in range(8) for k in range(3)) for y in range(8)]
    with open(f"{root}/images/{stem}.png", "wb") as f:
        f.write(png(8, 8, rgb, 2))
    mask = [bytes((i + x * y) % 11 for x in range(8)) for y in range(8)]
    with open(f"{root}/masks/{stem}.png", "wb") as f:
        f.write(png(8, 8, mask, 0))
