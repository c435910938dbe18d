#!/usr/bin/env python3
"""Regenerates the imaging test fixtures (standard library + cjpeg/djpeg from libjpeg-turbo-progs).

PNGs are written by hand (zlib + struct) so that the tests do not check our encoder
against itself; JPEGs come from cjpeg, and their reference decodes from djpeg.
"""
import os, struct, subprocess, zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width, height, depth, ctype, rows, palette=None, extra=b""):
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, ctype, 0, 0, 0))
    if palette:
        out += chunk(b"PLTE", bytes(v for c in palette for v in c))
    out += extra
    raw = b"".join(b"\x00" + r for r in rows)
    return out + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def save(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


# A 32x24 gradient with a few hard edges, as binary PPM for cjpeg.
W, H = 32, 24
rgb = bytearray()
for y in range(H):
    for x in range(W):
        rgb += bytes([x * 8, y * 10, 255 if (x // 8 + y // 8) % 2 else 40])
save("gradient.ppm", b"P6\n%d %d\n255\n" % (W, H) + bytes(rgb))

# Colour PNGs: RGBA with varying alpha, 16-bit RGB.
save("rgba.png", png(3, 2, 8, 6, [bytes([10, 20, 30, 0, 40, 50, 60, 128, 70, 80, 90, 255]),
                                   bytes([1, 2, 3, 255, 4, 5, 6, 255, 7, 8, 9, 255])]))
save("rgb16.png", png(2, 1, 16, 2, [struct.pack(">6H", 0xFFFF, 0x8080, 0x0000, 0x1234, 0x00FF, 0xFF00)]))

# Masks: 8-bit gray; 16-bit gray (values fit a byte); gray+alpha; a 2-bit palette as
# PIL writes small palettes; an RGB "mask" that must be refused.
save("gray.png", png(4, 2, 8, 0, [bytes([0, 1, 2, 255]), bytes([11, 10, 9, 8])]))
save("gray16.png", png(3, 1, 16, 0, [struct.pack(">3H", 0, 7, 255)]))
save("gray16_big.png", png(2, 1, 16, 0, [struct.pack(">2H", 3, 300)]))
save("gray_alpha.png", png(2, 1, 8, 4, [bytes([5, 0, 6, 255])]))
pal = [(0, 0, 0), (128, 0, 0), (0, 128, 0), (128, 128, 0)]
# 5x2 pixels of indices, 4 per byte MSB first, rows padded to a byte boundary.
idx = [[0, 1, 2, 3, 1], [3, 2, 1, 0, 2]]
def pack2(r):
    r = r + [0] * (-len(r) % 4)
    return bytes((r[i] << 6) | (r[i + 1] << 4) | (r[i + 2] << 2) | r[i + 3] for i in range(0, len(r), 4))
save("palette_2bit.png", png(5, 2, 2, 3, [pack2(r) for r in idx], palette=pal))
save("rgb_mask.png", png(2, 1, 8, 2, [bytes([0, 0, 0, 128, 64, 128])]))
# A palette mask whose last pixel (x=3, y=1) says 9 with a palette of 3 entries.
save("palette_out_of_range.png", png(4, 2, 8, 3, [bytes([0, 1, 2, 0]), bytes([2, 1, 0, 9])], palette=pal[:3]))

# Adam7-interlaced 8-bit RGB, 7x5, pixel (x, y) = (x * 30, y * 50, 7).
def adam7(width, height, pixel):
    raw = b""
    for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]:
        xs, ys = range(x0, width, dx), range(y0, height, dy)
        if not xs or not ys:
            continue
        for y in ys:
            raw += b"\x00" + b"".join(pixel(x, y) for x in xs)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 1))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
save("interlaced.png", adam7(7, 5, lambda x, y: bytes([x * 30, y * 50, 7])))

# Broken files.
good = png(64, 64, 8, 2, [bytes((x * 4 + y) % 256 for x in range(64 * 3)) for y in range(64)])
save("truncated.png", good[: len(good) // 2])
save("html.png", b"<html><body>404 Not Found</body></html>\n")
save("empty.png", b"")
# A valid-looking header claiming 200000 x 200000 pixels (4e10) with a tiny IDAT.
save("huge.png", b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 200000, 200000, 8, 0, 0, 0, 0))
     + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b""))

# CMYK and YCCK JPEGs (cmyk.jpg, ycck.jpg): cjpeg cannot write them, make_cmyk_jpeg.c does
# (cc make_cmyk_jpeg.c -ljpeg && ./a.out).

# JPEGs from cjpeg; references from djpeg (same library, default settings as our decoder).
ppm = os.path.join(HERE, "gradient.ppm")
def run(*args):
    subprocess.run(args, check=True)
run("cjpeg", "-quality", "90", "-outfile", os.path.join(HERE, "baseline.jpg"), ppm)
run("cjpeg", "-quality", "90", "-progressive", "-outfile", os.path.join(HERE, "progressive.jpg"), ppm)
run("cjpeg", "-quality", "90", "-grayscale", "-outfile", os.path.join(HERE, "gray.jpg"), ppm)
for name in ("baseline", "progressive"):
    run("djpeg", "-ppm", "-outfile", os.path.join(HERE, name + ".ref.ppm"), os.path.join(HERE, name + ".jpg"))
run("djpeg", "-pnm", "-outfile", os.path.join(HERE, "gray.ref.pgm"), os.path.join(HERE, "gray.jpg"))
with open(os.path.join(HERE, "baseline.jpg"), "rb") as f:
    jpg = f.read()
save("truncated.jpg", jpg[: len(jpg) * 6 // 10])
with open(os.path.join(HERE, "progressive.jpg"), "rb") as f:
    jpg = f.read()
save("truncated_progressive.jpg", jpg[: len(jpg) // 2])
