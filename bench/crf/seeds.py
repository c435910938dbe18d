#!/usr/bin/env python3
"""seedCRF against pydensecrf (pydensecrf2 1.1) on CamVid: same seeds, same parameters.

Seeds come from segflow's own simulated annotators on the ground-truth masks
(`segflow exec maskScribbles` and `segflow exec maskPoints`), so both CRFs start from the
same labelled pixels. segflow's side is the real CLI:

    segflow exec seedCRF --input images=DIR --input scribbles=DIR --input points=DIR
                         --classes classes.yaml --param ... --out OUT -j JOBS

pydensecrf's side builds the same label map (scribble pixels, then clicks stamped as discs of
pointRadius), `unary_from_labels(labels, n, gt_prob, zero_unsure=True)`, the gaussian and
bilateral kernels and `inference(iterations)`, single-threaded. Prints per-image MAP agreement,
the mIoU of both against the truth, and the time per image of each (segflow's is the whole
seedCRF node as the command reports it, divided by the number of images); exits 1 when the
mean agreement is below --min-agreement (99 %).

Usage (from the repository root): python3 bench/crf/seeds.py --count 20
The first run makes (or reuses) compare.py's throwaway venv with pydensecrf2.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import DEFAULT_SEGFLOW, REPO, ensure_venv, load  # noqa: E402

# IRN's settings, the seedCRF defaults, passed explicitly to both sides.
SEED_PARAMS = [("gtProb", "0.9"), ("sxyGaussian", "3"), ("compatGaussian", "3"), ("sxyBilateral", "50"),
               ("srgb", "5"), ("compatBilateral", "10"), ("iterations", "10"), ("pointRadius", "2")]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.path.join(REPO, "..", "shared", "data", "camvid"))
    p.add_argument("--count", type=int, default=20)
    p.add_argument("--segflow", default=DEFAULT_SEGFLOW)
    p.add_argument("--jobs", "-j", type=int, default=2)
    p.add_argument("--venv", default="/tmp/segflow-pydensecrf-venv")
    p.add_argument("--min-agreement", type=float, default=99.0)
    p.add_argument("--keep", help="keep the generated inputs and outputs in this folder")
    return p.parse_args()


def class_ids(classes_yaml):
    """id per channel, in classes.yaml order (ids from `{id: N, name: ...}` lines)."""
    return [int(m) for m in re.findall(r"\{\s*id:\s*(\d+)\s*,\s*name:", open(classes_yaml).read())]


def segflow(args, *cmd, cache):
    full = [args.segflow, *cmd, "--cache", cache, "-j", str(args.jobs)]
    res = subprocess.run(full, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"failed ({res.returncode}): {' '.join(full)}\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")
    return res.stdout + res.stderr


def node_seconds(output, node):
    m = re.search(rf"^{re.escape(node)}: ran, .*\(([0-9.]+) s\)", output, re.M)
    return float(m.group(1)) if m else None


def seed_labels(scribble_ids, points, id_to_channel, radius, n):
    """Channel + 1 per pixel, 0 = unsure: pydensecrf's zero_unsure convention."""
    import numpy as np
    labels = np.zeros(scribble_ids.shape, dtype=np.int64)
    known = scribble_ids != 255
    labels[known] = id_to_channel[scribble_ids[known]] + 1
    h, w = labels.shape
    yy, xx = np.mgrid[0:h, 0:w]
    names = points["names"]
    for p in points["points"]:
        disc = (xx - p["x"]) ** 2 + (yy - p["y"]) ** 2 <= radius * radius
        labels[disc] = names.index(p["class"]) + 1
    return labels


def run_pydensecrf(rgb, labels, n):
    import numpy as np
    import pydensecrf.densecrf as dcrf
    from pydensecrf.utils import unary_from_labels
    p = dict(SEED_PARAMS)
    h, w = labels.shape
    t0 = time.perf_counter()
    d = dcrf.DenseCRF2D(w, h, n)
    d.setUnaryEnergy(np.ascontiguousarray(unary_from_labels(labels, n, float(p["gtProb"]), zero_unsure=True)))
    d.addPairwiseGaussian(sxy=float(p["sxyGaussian"]), compat=float(p["compatGaussian"]))
    d.addPairwiseBilateral(sxy=float(p["sxyBilateral"]), srgb=float(p["srgb"]), rgbim=np.ascontiguousarray(rgb),
                           compat=float(p["compatBilateral"]))
    q = np.array(d.inference(int(p["iterations"]))).reshape(n, h, w)
    return q.argmax(axis=0), time.perf_counter() - t0


def miou(pred_channels, truth_channels, n):
    import numpy as np
    valid = truth_channels < n
    cm = np.bincount(truth_channels[valid] * n + pred_channels[valid], minlength=n * n).reshape(n, n)
    inter = np.diag(cm).astype(float)
    union = cm.sum(0) + cm.sum(1) - inter
    present = union > 0
    return float((inter[present] / union[present]).mean())


def main():
    args = parse_args()
    ensure_venv(args.venv)
    import json
    import numpy as np
    from PIL import Image

    args.segflow = os.path.abspath(args.segflow)
    classes_yaml = os.path.join(args.data, "classes.yaml")
    ids = class_ids(classes_yaml)
    n = len(ids)
    id_to_channel = np.full(256, 255, dtype=np.int64)
    for ch, i in enumerate(ids):
        id_to_channel[i] = ch
    names_line = re.findall(r"name:\s*([^,}]+)", open(classes_yaml).read())
    names = [s.strip() for s in names_line][:n]

    work = args.keep or tempfile.mkdtemp(prefix="segflow-seedcrf-")
    os.makedirs(work, exist_ok=True)
    stems = sorted(os.path.splitext(f)[0] for f in os.listdir(os.path.join(args.data, "train")) if f.endswith(".png"))
    stems = stems[:: max(1, len(stems) // args.count)][: args.count]
    for sub in ("images", "masks"):
        shutil.rmtree(os.path.join(work, sub), ignore_errors=True)
        os.makedirs(os.path.join(work, sub))
    for s in stems:
        os.symlink(os.path.join(os.path.abspath(args.data), "train", s + ".png"), os.path.join(work, "images", s + ".png"))
        os.symlink(os.path.join(os.path.abspath(args.data), "trainannot", s + ".png"), os.path.join(work, "masks", s + ".png"))
    cache = os.path.join(work, "cache")
    shutil.rmtree(cache, ignore_errors=True)
    for stage, out in (("maskScribbles", "scribbles"), ("maskPoints", "points")):
        segflow(args, "exec", stage, "--input", "masks=" + os.path.join(work, "masks"), "--classes", classes_yaml,
                "--out", os.path.join(work, out), cache=cache)
    cmd = ["exec", "seedCRF", "--input", "images=" + os.path.join(work, "images"),
           "--input", "scribbles=" + os.path.join(work, "scribbles"), "--input", "points=" + os.path.join(work, "points"),
           "--classes", classes_yaml]
    for k, v in SEED_PARAMS:
        cmd += ["--param", f"{k}={v}"]
    cmd += ["--out", os.path.join(work, "seedcrf")]
    print("running: segflow " + " ".join(cmd), flush=True)
    print(load(), flush=True)
    t0 = time.perf_counter()
    out = segflow(args, *cmd, cache=cache)
    wall = time.perf_counter() - t0
    stage_seconds = node_seconds(out, "seedCRF") or wall

    agreements, ours_iou, theirs_iou, py_times = [], [], [], []
    radius = int(dict(SEED_PARAMS)["pointRadius"])
    for s in stems:
        rgb = np.array(Image.open(os.path.join(work, "images", s + ".png")).convert("RGB"))
        truth = id_to_channel[np.asarray(Image.open(os.path.join(work, "masks", s + ".png")))]
        scribbles = np.asarray(Image.open(os.path.join(work, "scribbles", s + ".png")))
        points = json.load(open(os.path.join(work, "points", s + ".json")))
        points["names"] = names
        labels = seed_labels(scribbles, points, id_to_channel, radius, n)
        theirs, seconds = run_pydensecrf(rgb, labels, n)
        ours = id_to_channel[np.asarray(Image.open(os.path.join(work, "seedcrf", s + ".png")))]
        agreement = 100.0 * float((ours == theirs).mean())
        agreements.append(agreement)
        py_times.append(seconds)
        ours_iou.append(miou(ours, truth, n))
        theirs_iou.append(miou(theirs, truth, n))
        print(f"{s}: agreement {agreement:7.3f} %  mIoU segflow {100 * ours_iou[-1]:5.1f} %  pydensecrf "
              f"{100 * theirs_iou[-1]:5.1f} %  pydensecrf {seconds:.3f} s", flush=True)
    mean_agreement = sum(agreements) / len(agreements)
    per_image = stage_seconds / len(stems)
    py_per_image = sum(py_times) / len(py_times)
    print(f"images: {len(stems)}  seeds: maskScribbles (width 3) + maskPoints (1 per region), radius {radius}")
    print(f"mean MAP agreement: {mean_agreement:.3f} % (min {min(agreements):.3f} %)")
    print(f"mean per-image mIoU vs truth: segflow {100 * sum(ours_iou) / len(stems):.2f} %, "
          f"pydensecrf {100 * sum(theirs_iou) / len(stems):.2f} %")
    print(f"seedCRF node: {per_image:.3f} s per image (-j {args.jobs}; whole command {wall / len(stems):.3f} s); "
          f"pydensecrf: {py_per_image:.3f} s per image (1 thread); ratio {py_per_image / per_image:.2f}x")
    print(load())
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    if mean_agreement < args.min_agreement:
        print(f"FAIL: mean agreement {mean_agreement:.3f} % < {args.min_agreement} %")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
