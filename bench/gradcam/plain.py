"""Baseline for the engine-overhead benchmark: Grad-CAM++ over a folder, in plain Python.

Does the same work as the torch plugin's `gradcampp` stage with `classes: all` and
`normalize: minmax` (pytorch-grad-cam's own scaling), without the engine: load the
classifierTrain model once, then per image resize the short side to the model's
imageSize, run GradCAMPlusPlus on layer4 for every class (one batch of C copies of the
image, one target each), resize the maps to the image's size and save (C, H, W) float32.

    <venv>/bin/python bench/gradcam/plain.py MODEL_DIR IMAGE_DIR OUT_DIR [--threads 2]

MODEL_DIR holds model.pt and meta.json. Prints one JSON line with the timings.
"""

import argparse
import json
import os
import sys
import time

START = time.perf_counter()

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import torchvision  # noqa: E402
from PIL import Image  # noqa: E402
from pytorch_grad_cam import GradCAMPlusPlus  # noqa: E402
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model_dir")
    parser.add_argument("image_dir")
    parser.add_argument("out_dir")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    imported = time.perf_counter()
    torch.set_num_threads(args.threads)

    with open(os.path.join(args.model_dir, "meta.json")) as handle:
        meta = json.load(handle)
    classes = len(meta["classes"])
    model = getattr(torchvision.models, meta["backbone"])(weights=None)
    model.fc = torch.nn.Linear(model.fc.in_features, classes)
    model.load_state_dict(torch.load(os.path.join(args.model_dir, "model.pt"), map_location="cpu", weights_only=True))
    model = model.to(args.device).eval()
    explainer = GradCAMPlusPlus(model, [model.layer4])
    targets = [ClassifierOutputTarget(c) for c in range(classes)]
    mean = torch.tensor(meta["mean"]).view(3, 1, 1)
    std = torch.tensor(meta["std"]).view(3, 1, 1)
    loaded = time.perf_counter()

    os.makedirs(args.out_dir, exist_ok=True)
    names = sorted(n for n in os.listdir(args.image_dir) if n.lower().endswith((".png", ".jpg", ".jpeg")))
    for name in names:
        image = Image.open(os.path.join(args.image_dir, name)).convert("RGB")
        width, height = image.size
        short = meta["imageSize"]
        size = (short, round(height * short / width)) if width <= height else (round(width * short / height), short)
        pixels = torch.from_numpy(np.asarray(image.resize(size, Image.BILINEAR), dtype=np.float32) / 255.0)
        x = ((pixels.permute(2, 0, 1) - mean) / std)[None].expand(classes, -1, -1, -1).contiguous()
        maps = torch.from_numpy(explainer(x, targets))                      # (C, h, w), min-max scaled
        maps = F.interpolate(maps[None], size=(height, width), mode="bilinear", align_corners=False)[0]
        np.save(os.path.join(args.out_dir, os.path.splitext(name)[0] + ".npy"), maps.numpy().astype("<f4"))
    done = time.perf_counter()

    print(json.dumps({"images": len(names), "device": str(args.device), "threads": args.threads,
                      "import_s": round(imported - START, 3), "load_s": round(loaded - imported, 3),
                      "cams_s": round(done - loaded, 3), "total_s": round(done - START, 3),
                      "per_image_s": round((done - loaded) / max(len(names), 1), 4)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
