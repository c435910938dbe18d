"""COCO run-length encodings of one CamVid mask, made by pycocotools (the reference implementation).

    python3 -m venv /tmp/v && /tmp/v/bin/pip install pycocotools==2.0.8 numpy pillow
    /tmp/v/bin/python make_rle.py > rle.json

For each class id in pipelines/data/camvid-tiny/trainannot/0001TP_006690.png (the dataset's void id 11
left out) the class's pixels as compressed RLE (pycocotools.mask.encode) and as uncompressed counts
(the same runs, as COCO writes for iscrowd annotations). cocoAnnotations must decode both to exactly
those pixels.
"""
import json
import os

import numpy as np
from importlib.metadata import version
import pycocotools.mask as mask_utils
from PIL import Image

here = os.path.dirname(os.path.abspath(__file__))
name = "0001TP_006690.png"
mask = np.array(Image.open(os.path.join(here, "../../../pipelines/data/camvid-tiny/trainannot", name)))
out = {"pycocotools": version("pycocotools"), "mask": name, "height": int(mask.shape[0]), "width": int(mask.shape[1]), "regions": []}
for cid in sorted(int(v) for v in np.unique(mask) if v not in (11, 255)):
    binary = np.asfortranarray((mask == cid).astype(np.uint8))
    rle = mask_utils.encode(binary)
    # Uncompressed counts: runs of 0s and 1s down the columns, starting with 0s.
    flat = binary.flatten(order="F")
    runs, current, n = [], 0, 0
    for v in flat:
        if v == current:
            n += 1
        else:
            runs.append(n); current, n = v, 1
    runs.append(n)
    assert (mask_utils.decode(rle) == binary).all()
    out["regions"].append({"id": cid, "compressed": rle["counts"].decode("ascii"), "counts": runs,
                           "area": int(mask_utils.area(rle))})
print(json.dumps(out))
