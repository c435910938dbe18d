#!/usr/bin/env python3
"""Interleaved timing of pydensecrf and crfbench, image by image, for a busy machine.

compare.py times all pydensecrf runs, then all crfbench runs; when other jobs come and go
the two halves see different loads. This script reuses the inputs compare.py kept
(`--keep DIR`: DIR/npy/NNN_rgb.npy and NNN_probs.npy) and, for each image, runs
pydensecrf in process, then `crfbench --threads 1` and `crfbench --threads 2` on that one
image, in turn, recording wall and CPU time. It prints per-image ratios and their medians.

    /tmp/segflow-pydensecrf-venv/bin/python bench/crf/interleave.py /tmp/crfk20
"""
import glob
import os
import subprocess
import sys
import time

import numpy as np



def run_pydensecrf(rgb, probs):
    """The same call sequence compare.py times: returns (labels, wall seconds)."""
    import pydensecrf.densecrf as dcrf
    from pydensecrf.utils import unary_from_softmax
    c, h, w = probs.shape
    t0 = time.perf_counter()
    d = dcrf.DenseCRF2D(w, h, c)
    d.setUnaryEnergy(np.ascontiguousarray(unary_from_softmax(probs)))
    d.addPairwiseGaussian(sxy=3, compat=3)
    d.addPairwiseBilateral(sxy=80, srgb=13, rgbim=np.ascontiguousarray(rgb), compat=10)
    q = np.array(d.inference(10)).reshape(c, h, w)
    return q.argmax(axis=0).astype(np.uint8), time.perf_counter() - t0

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(REPO, "bench", "crf", "swift", ".build", "release", "crfbench")


def crfbench(threads, rgb_path, probs_path, out_path, manifest):
    with open(manifest, "w") as f:
        f.write(f"{rgb_path} {probs_path} {out_path}\n")
    out = subprocess.run([BENCH, "--threads", str(threads), manifest], check=True,
                         capture_output=True, text=True).stdout.split()
    wall = float(out[1])
    cpu = float(out[2]) if len(out) > 2 else float("nan")
    return wall, cpu, np.load(out_path)


def main():
    work = sys.argv[1]
    rgbs = sorted(glob.glob(os.path.join(work, "npy", "*_rgb.npy")))
    rows = []
    print(f"{'image':<8}{'py s':>8}{'py cpu':>8}{'t1 s':>8}{'t1 cpu':>8}{'t2 s':>8}{'t2 cpu':>8}"
          f"{'py/t1':>7}{'py/t2':>7}{'agree t2 %':>11}  load")
    for rgb_path in rgbs:
        stem = os.path.basename(rgb_path)[:-len("_rgb.npy")]
        probs_path = rgb_path.replace("_rgb.npy", "_probs.npy")
        rgb, probs = np.load(rgb_path), np.load(probs_path)
        c0 = time.process_time()
        py_labels, py_wall = run_pydensecrf(rgb, probs)
        py_cpu = time.process_time() - c0
        out = os.path.join(work, "npy", stem + "_interleave.npy")
        manifest = os.path.join(work, "npy", stem + "_interleave.txt")
        t1 = crfbench(1, rgb_path, probs_path, out, manifest)
        t2 = crfbench(2, rgb_path, probs_path, out, manifest)
        agree = 100.0 * float((t2[2] == py_labels).mean())
        rows.append((py_wall, py_cpu, t1[0], t1[1], t2[0], t2[1], agree))
        print(f"{stem:<8}{py_wall:8.3f}{py_cpu:8.3f}{t1[0]:8.3f}{t1[1]:8.3f}{t2[0]:8.3f}{t2[1]:8.3f}"
              f"{py_wall / t1[0]:7.2f}{py_wall / t2[0]:7.2f}{agree:11.3f}  {os.getloadavg()[0]:.1f}", flush=True)
    a = np.array(rows)
    med = np.median(a, axis=0)
    print()
    print(f"images: {len(rows)}  medians: pydensecrf {med[0]:.3f} s (CPU {med[1]:.3f} s), "
          f"segflow 1 thread {med[2]:.3f} s (CPU {med[3]:.3f} s), 2 threads {med[4]:.3f} s (CPU {med[5]:.3f} s)")
    print(f"median per-image speed ratio (py / segflow): 1 thread {np.median(a[:, 0] / a[:, 2]):.2f}x, "
          f"2 threads {np.median(a[:, 0] / a[:, 4]):.2f}x; "
          f"CPU ratio 1 thread {np.median(a[:, 1] / a[:, 3]):.2f}x")
    print(f"mean agreement (2 threads) {a[:, 6].mean():.3f} %")


if __name__ == "__main__":
    main()
