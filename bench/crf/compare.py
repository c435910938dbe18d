#!/usr/bin/env python3
"""Compare segflow's DenseCRF with pydensecrf (pydensecrf2 1.1) on CamVid images.

For each image, class probabilities are made from the ground-truth mask corrupted
with noise (deterministic seed), then both CRFs run with the PSA/SEAM settings:
gaussian sxy 3 compat 3, bilateral sxy 80 srgb 13 compat 10, 10 iterations.
Prints per-image MAP agreement and times, the means and the speed ratio; exits 1 when
the mean agreement is below --min-agreement (99 %).

Usage (from the repository root):
    swift build -c release --package-path bench/crf/swift
    python3 bench/crf/compare.py --count 20

The first run makes a throwaway venv (--venv) with numpy, cython, pillow and
pydensecrf2, and re-runs itself inside it.
"""
import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PINS = ["numpy==2.4.6", "cython", "pillow", "pydensecrf2==1.1"]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.path.join(REPO, "..", "shared", "data", "camvid"),
                   help="CamVid folder holding train/ and trainannot/")
    p.add_argument("--count", type=int, default=20, help="number of images")
    p.add_argument("--classes", type=int, default=11)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--segflow-cmd",
                   default=os.path.join(REPO, "bench", "crf", "swift", ".build", "release", "crfbench") + " --threads 2",
                   help="command run as `CMD MANIFEST`; each manifest line is `RGB.npy PROBS.npy OUT.npy`; "
                        "it prints `<index> <seconds>` per image")
    p.add_argument("--venv", default="/tmp/segflow-pydensecrf-venv")
    p.add_argument("--min-agreement", type=float, default=99.0)
    p.add_argument("--keep", help="keep the generated inputs and outputs in this folder")
    return p.parse_args()


def ensure_venv(venv):
    """Re-executes this script inside `venv`, creating it on first use."""
    py = os.path.join(venv, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(venv):
        return
    if not os.path.exists(py):
        print(f"creating venv {venv} ...", flush=True)
        subprocess.check_call([sys.executable, "-m", "venv", venv])
    ok = subprocess.call([py, "-c", "import numpy, PIL, pydensecrf.densecrf"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0
    if not ok:
        subprocess.check_call([py, "-m", "pip", "install", "-q"] + PINS)
    os.execv(py, [py] + sys.argv)


def upsample(grid, h, w):
    """Bilinear resize of a (C, gh, gw) grid to (C, h, w)."""
    import numpy as np
    c, gh, gw = grid.shape
    ys = np.linspace(0, gh - 1, h)
    xs = np.linspace(0, gw - 1, w)
    y0 = np.floor(ys).astype(int).clip(0, gh - 2)
    x0 = np.floor(xs).astype(int).clip(0, gw - 2)
    fy = (ys - y0)[None, :, None]
    fx = (xs - x0)[None, None, :]
    g00 = grid[:, y0][:, :, x0]
    g01 = grid[:, y0][:, :, x0 + 1]
    g10 = grid[:, y0 + 1][:, :, x0]
    g11 = grid[:, y0 + 1][:, :, x0 + 1]
    return (g00 * (1 - fy) * (1 - fx) + g01 * (1 - fy) * fx + g10 * fy * (1 - fx) + g11 * fy * fx)


def noisy_probabilities(label, classes, rng):
    """Softmax of (smoothed one-hot * 4 + low-frequency noise blobs + pixel noise)."""
    import numpy as np
    h, w = label.shape
    onehot = np.full((classes, h, w), 0.1 / classes, dtype=np.float64)
    valid = label < classes
    ys, xs = np.nonzero(valid)
    onehot[label[valid], ys, xs] += 0.9
    onehot[:, ~valid] = 1.0 / classes  # unlabelled: uniform
    blobs = upsample(rng.normal(0, 1.6, size=(classes, h // 40 + 2, w // 40 + 2)), h, w)
    logits = 4.0 * onehot + blobs + rng.normal(0, 0.8, size=(classes, h, w))
    logits -= logits.max(axis=0, keepdims=True)
    e = np.exp(logits)
    return (e / e.sum(axis=0, keepdims=True)).astype(np.float32)


def run_pydensecrf(rgb, probs):
    import numpy as np
    import pydensecrf.densecrf as dcrf
    from pydensecrf.utils import unary_from_softmax
    c, h, w = probs.shape
    t0 = time.perf_counter()
    d = dcrf.DenseCRF2D(w, h, c)
    d.setUnaryEnergy(np.ascontiguousarray(unary_from_softmax(probs)))
    d.addPairwiseGaussian(sxy=3, compat=3)
    d.addPairwiseBilateral(sxy=80, srgb=13, rgbim=np.ascontiguousarray(rgb), compat=10)
    q = np.array(d.inference(10)).reshape(c, h, w)
    labels = q.argmax(axis=0).astype(np.uint8)
    return labels, time.perf_counter() - t0


def main():
    args = parse_args()
    ensure_venv(args.venv)
    import numpy as np
    from PIL import Image

    data = os.path.abspath(args.data)
    names = sorted(os.listdir(os.path.join(data, "train")))
    step = max(1, len(names) // max(1, args.count))
    names = names[::step][: args.count]
    work = args.keep or tempfile.mkdtemp(prefix="segflow-crf-")
    os.makedirs(work, exist_ok=True)

    rows, manifest = [], []
    for i, name in enumerate(names):
        rgb = np.array(Image.open(os.path.join(data, "train", name)).convert("RGB"), dtype=np.uint8)
        label = np.array(Image.open(os.path.join(data, "trainannot", name)), dtype=np.uint8)
        rng = np.random.default_rng(args.seed + i)
        probs = noisy_probabilities(label, args.classes, rng)
        paths = [os.path.join(work, f"{i:03d}_{k}.npy") for k in ("rgb", "probs", "swift")]
        np.save(paths[0], np.ascontiguousarray(rgb))
        np.save(paths[1], probs)
        manifest.append(" ".join(paths))
        py_labels, py_time = run_pydensecrf(rgb, probs)
        rows.append(dict(name=name, label=label, probs=probs, py=py_labels, py_time=py_time, out=paths[2]))
        print(f"pydensecrf {i + 1}/{len(names)} {name}: {py_time:.3f} s", flush=True)

    manifest_path = os.path.join(work, "manifest.txt")
    with open(manifest_path, "w") as f:
        f.write("\n".join(manifest) + "\n")
    cmd = shlex.split(args.segflow_cmd) + [manifest_path]
    print("running:", " ".join(shlex.quote(c) for c in cmd), flush=True)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    swift_times = {int(p[0]): float(p[1]) for p in (line.split() for line in out.splitlines())
                   if len(p) == 2 and p[0].isdigit()}

    print()
    print(f"{'image':<22}{'agree %':>9}{'py s':>9}{'swift s':>9}{'ratio':>7}"
          f"{'acc unary':>11}{'acc py':>8}{'acc swift':>10}")
    agreements, py_times, sw_times = [], [], []
    for i, r in enumerate(rows):
        sw = np.load(r["out"])
        valid = r["label"] < args.classes
        agree = 100.0 * float((sw == r["py"]).mean())
        acc = lambda lab: 100.0 * float((lab[valid] == r["label"][valid]).mean())
        st = swift_times[i]
        agreements.append(agree)
        py_times.append(r["py_time"])
        sw_times.append(st)
        print(f"{r['name']:<22}{agree:9.3f}{r['py_time']:9.3f}{st:9.3f}{r['py_time'] / st:7.2f}"
              f"{acc(r['probs'].argmax(0)):11.2f}{acc(r['py']):8.2f}{acc(sw):10.2f}")
    mean_agree = float(np.mean(agreements))
    print()
    print(f"images: {len(rows)}  mean agreement: {mean_agree:.3f} %  min: {min(agreements):.3f} %")
    print(f"mean time pydensecrf: {np.mean(py_times):.4f} s  segflow: {np.mean(sw_times):.4f} s  "
          f"speed ratio (py / segflow): {np.mean(py_times) / np.mean(sw_times):.2f}x")
    if mean_agree < args.min_agreement:
        print(f"FAIL: mean agreement {mean_agree:.3f} % < {args.min_agreement} %")
        sys.exit(1)


if __name__ == "__main__":
    main()
