"""The peers' version of `maskLabels` for bench/plan/peers.sh: the CamVid class names present in a mask.

Stdlib only: decodes the 8-bit grayscale PNGs of make_dataset.py (any PNG filter, no interlace), takes a
histogram and writes the same JSON list as segflow's maskLabels (minFraction 0, ignore id 11).
As a script: peers_labels.py MASK_DIR OUT_DIR (one OUT_DIR/STEM.json per mask, for DVC's one stage) or
peers_labels.py MASK.png OUT.json (one item, for Snakemake's per-item jobs).
"""
import os, struct, sys, zlib

CLASSES = ["Sky", "Building", "Pole", "Road", "Pavement", "Tree", "SignSymbol", "Fence", "Car", "Pedestrian",
           "Bicyclist"]
IGNORE = 11


def gray_pixels(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG")
    pos, idat, width, height = 8, [], 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if (depth, color, interlace) != (8, 0, 0):
                raise ValueError(f"{path}: only 8-bit grayscale, non-interlaced masks")
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    raw, out, prev = zlib.decompress(b"".join(idat)), bytearray(), bytearray(width)
    for y in range(height):
        ftype, row = raw[y * (width + 1)], bytearray(raw[y * (width + 1) + 1:(y + 1) * (width + 1)])
        for x in range(width):
            a, b = row[x - 1] if x else 0, prev[x]
            c = prev[x - 1] if x else 0
            if ftype == 1: row[x] = (row[x] + a) & 255
            elif ftype == 2: row[x] = (row[x] + b) & 255
            elif ftype == 3: row[x] = (row[x] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                row[x] = (row[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out += row
        prev = row
    return out


def labels_json(path):
    present = set(gray_pixels(path))
    bad = sorted(v for v in present if v >= len(CLASSES) and v != IGNORE and v != 255)
    if bad:
        raise ValueError(f"{path} holds value {bad[0]}, which is not a class id")
    return "[" + ",".join(f'"{name}"' for i, name in enumerate(CLASSES) if i in present) + "]"


if __name__ == "__main__":
    if sys.argv[1].endswith(".png"):  # one mask: peers_labels.py MASK.png OUT.json
        with open(sys.argv[2], "w") as f:
            f.write(labels_json(sys.argv[1]))
        sys.exit(0)
    mask_dir, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    for name in sorted(os.listdir(mask_dir)):
        if name.endswith(".png"):
            with open(os.path.join(out_dir, name[:-4] + ".json"), "w") as f:
                f.write(labels_json(os.path.join(mask_dir, name)))
