#!/usr/bin/env python3
"""Compare segflow's DenseCRF with pydensecrf (pydensecrf2 1.1) on CamVid images.

For each image, class probabilities are made from the ground-truth mask corrupted
with noise (deterministic seed), then both CRFs run with the PSA/SEAM settings:
gaussian sxy 3 compat 3, bilateral sxy 80 srgb 13 compat 10, 10 iterations.

Two ways to run segflow's side:

  exec      the real CLI, once for all images:
              segflow exec crf --input images=DIR --input cams=DIR --param unary=probabilities
                               --param ... --out OUT --cache FRESH_CACHE -j JOBS
            with DIR/images/<stem>.png (RGB) and DIR/cams/<stem>.npy (float32 C,H,W); the
            label PNGs OUT/<stem>.png (channel index) are compared. Its time is the whole
            command (process start, PNG decode/encode, cache ingest and copy-out included)
            divided by the number of images.
  crfbench  the compute-only harness (bench/crf/swift): unary + inference + argmax per image,
            file I/O excluded.

--mode auto (default) runs exec when a segflow binary is found (--segflow, else
.build/release/segflow) and, alongside, crfbench when its binary is built; without a segflow
binary it falls back to crfbench alone. Prints per-image MAP agreement and times, the means
and the speed ratios; exits 1 when any mean agreement is below --min-agreement (99 %).

Usage (from the repository root):
    swift build -c release --product segflow                    # exec path
    swift build -c release --package-path bench/crf/swift       # compute-only path (optional)
    python3 bench/crf/compare.py --count 20

The first run makes a throwaway venv (--venv) with numpy, cython, pillow and
pydensecrf2 (built from source: needs a C++ compiler and Python headers), and re-runs
itself inside it.
"""
import argparse
import os
import re
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PINS = ["numpy==2.4.6", "cython", "pillow", "pydensecrf2==1.1"]
DEFAULT_SEGFLOW = os.path.join(REPO, ".build", "release", "segflow")
DEFAULT_CRFBENCH = os.path.join(REPO, "bench", "crf", "swift", ".build", "release", "crfbench")
# The CRF settings, passed explicitly to both sides.
CRF_PARAMS = [("sxyGaussian", "3"), ("compatGaussian", "3"), ("sxyBilateral", "80"), ("srgb", "13"),
              ("compatBilateral", "10"), ("iterations", "10")]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.path.join(REPO, "..", "shared", "data", "camvid"),
                   help="CamVid folder holding train/ and trainannot/")
    p.add_argument("--count", type=int, default=20, help="number of images")
    p.add_argument("--classes", type=int, default=11)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--mode", choices=["auto", "exec", "crfbench", "both"], default="auto",
                   help="auto: exec (+ crfbench when built) if a segflow binary is found, else crfbench")
    p.add_argument("--segflow", help=f"segflow binary for the exec path (default: {DEFAULT_SEGFLOW} when present)")
    p.add_argument("--jobs", "-j", type=int, default=2,
                   help="threads: `segflow exec -j JOBS` and `crfbench --threads JOBS` (default 2)")
    p.add_argument("--crfbench-cmd", dest="crfbench_cmd",
                   help="compute-only command run as `CMD MANIFEST`; each manifest line is "
                        "`RGB.npy PROBS.npy OUT.npy`; it prints `<index> <seconds>` per image "
                        f"(default: `{DEFAULT_CRFBENCH} --threads JOBS`)")
    p.add_argument("--no-rerun", action="store_true",
                   help="skip the second, fully cached exec call (its time is the fixed overhead)")
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
        print("installing " + " ".join(PINS) + " into " + venv + " (pydensecrf2 compiles from source) ...", flush=True)
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
    p = dict(CRF_PARAMS)
    t0, c0 = time.perf_counter(), time.process_time()
    d = dcrf.DenseCRF2D(w, h, c)
    d.setUnaryEnergy(np.ascontiguousarray(unary_from_softmax(probs)))
    d.addPairwiseGaussian(sxy=float(p["sxyGaussian"]), compat=float(p["compatGaussian"]))
    d.addPairwiseBilateral(sxy=float(p["sxyBilateral"]), srgb=float(p["srgb"]), rgbim=np.ascontiguousarray(rgb),
                           compat=float(p["compatBilateral"]))
    q = np.array(d.inference(int(p["iterations"]))).reshape(c, h, w)
    labels = q.argmax(axis=0).astype(np.uint8)
    return labels, time.perf_counter() - t0, time.process_time() - c0


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def load():
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def exec_command(segflow, work, jobs, cache):
    cmd = [segflow, "exec", "crf",
           "--input", "images=" + os.path.join(work, "images"),
           "--input", "cams=" + os.path.join(work, "cams"),
           "--param", "unary=probabilities"]
    for k, v in CRF_PARAMS:
        cmd += ["--param", f"{k}={v}"]
    return cmd + ["--out", os.path.join(work, "exec-out"), "--cache", cache, "-j", str(jobs)]


def run_exec(segflow, work, jobs, count, rerun):
    """Runs `segflow exec crf` once on all images with a fresh cache.

    Returns (wall seconds, CPU seconds of the process, wall seconds of a fully cached rerun or None,
    {node: seconds} as the command reports them, e.g. input-cams (ingest) and crf (the stage))."""
    cache = os.path.join(work, "exec-cache")
    shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(os.path.join(work, "exec-out"), ignore_errors=True)
    cmd = exec_command(segflow, work, jobs, cache)
    print("running:", " ".join(shlex.quote(c) for c in cmd), flush=True)
    t0, c0 = time.perf_counter(), children_cpu()
    res = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
    seconds, cpu = time.perf_counter() - t0, children_cpu() - c0
    if res.returncode != 0:
        sys.stderr.write(res.stdout + res.stderr)
        sys.exit(f"segflow exec failed (exit {res.returncode})")
    m = re.search(r"crf: (\d+) ran, (\d+) cached", res.stdout)
    if not m or int(m.group(1)) != count:
        sys.stderr.write(res.stdout + res.stderr)
        sys.exit(f"segflow exec did not run the CRF on all {count} images (fresh cache {cache})")
    # Lines like `input-cams: ran, 20 ran, 0 cached (1.59 s)` and `crf: ran, 20 ran, 0 cached (21.25 s)`.
    nodes = {m.group(1): float(m.group(2))
             for m in re.finditer(r"^(\S+): ran, .*\(([\d.]+) s\)\s*$", res.stdout + res.stderr, re.M)}
    again = None
    if rerun:
        # Same command, same cache: everything is cached, so this is the fixed cost (process start,
        # input hashing, plan, copy-out) without CRF, PNG decode or encode.
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=work, check=True, capture_output=True, text=True)
        again = time.perf_counter() - t0
    return seconds, cpu, again, nodes


def run_crfbench(cmd_line, manifest_path):
    cmd = shlex.split(cmd_line) + [manifest_path]
    print("running:", " ".join(shlex.quote(c) for c in cmd), flush=True)
    t0 = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - t0
    # `<index> <seconds>` or `<index> <seconds> <cpu seconds>` per image.
    times = {int(p[0]): tuple(map(float, p[1:])) for p in (line.split() for line in out.splitlines())
             if len(p) in (2, 3) and p[0].isdigit()}
    return times, wall


def main():
    args = parse_args()
    segflow = os.path.abspath(args.segflow) if args.segflow else (
        DEFAULT_SEGFLOW if os.access(DEFAULT_SEGFLOW, os.X_OK) else None)
    crfbench_cmd = args.crfbench_cmd or (f"{shlex.quote(DEFAULT_CRFBENCH)} --threads {args.jobs}"
                                         if os.access(DEFAULT_CRFBENCH, os.X_OK) else None)
    mode = args.mode
    if mode == "auto":
        mode = ("both" if crfbench_cmd else "exec") if segflow else "crfbench"
    use_exec = mode in ("exec", "both")
    use_bench = mode in ("crfbench", "both")
    if use_exec and not (segflow and os.access(segflow, os.X_OK)):
        sys.exit(f"no segflow binary (looked for {args.segflow or DEFAULT_SEGFLOW}); "
                 "build it with `swift build -c release --product segflow`")
    if use_bench and not crfbench_cmd:
        sys.exit(f"no crfbench binary ({DEFAULT_CRFBENCH}); build it with "
                 "`swift build -c release --package-path bench/crf/swift`")
    ensure_venv(args.venv)

    data = os.path.abspath(args.data)
    names = sorted(os.listdir(os.path.join(data, "train")))
    step = max(1, len(names) // max(1, args.count))
    names = names[::step][: args.count]
    work = os.path.abspath(args.keep or tempfile.mkdtemp(prefix="segflow-crf-"))
    try:
        return compare(args, mode, segflow, crfbench_cmd, names, data, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def compare(args, mode, segflow, crfbench_cmd, names, data, work):
    import numpy as np
    from PIL import Image
    use_exec = mode in ("exec", "both")
    use_bench = mode in ("crfbench", "both")
    for sub in ("images", "cams", "npy"):
        shutil.rmtree(os.path.join(work, sub), ignore_errors=True)
        os.makedirs(os.path.join(work, sub))

    print(f"mode: {mode}  images: {len(names)}  work: {work}  cpus: {os.cpu_count()}  {load()}", flush=True)
    rows, manifest = [], []
    for i, name in enumerate(names):
        stem = os.path.splitext(name)[0]
        rgb = np.array(Image.open(os.path.join(data, "train", name)).convert("RGB"), dtype=np.uint8)
        label = np.array(Image.open(os.path.join(data, "trainannot", name)), dtype=np.uint8)
        rng = np.random.default_rng(args.seed + i)
        probs = noisy_probabilities(label, args.classes, rng)
        Image.fromarray(rgb, "RGB").save(os.path.join(work, "images", stem + ".png"))
        np.save(os.path.join(work, "cams", stem + ".npy"), probs)
        paths = [os.path.join(work, "npy", f"{i:03d}_{k}.npy") for k in ("rgb", "probs", "crfbench")]
        if use_bench:
            np.save(paths[0], np.ascontiguousarray(rgb))
            np.save(paths[1], probs)
        manifest.append(" ".join(paths))
        py_labels, py_time, py_cpu = run_pydensecrf(rgb, probs)
        rows.append(dict(name=name, stem=stem, label=label, probs=probs, py=py_labels, py_time=py_time, py_cpu=py_cpu,
                         bench_out=paths[2], shape=rgb.shape[:2]))
        print(f"pydensecrf {i + 1}/{len(names)} {name}: {py_time:.3f} s", flush=True)
    n = len(rows)

    print(f"pydensecrf done, {load()}", flush=True)
    exec_time = exec_cpu = exec_rerun = None
    if use_exec:
        exec_time, exec_cpu, exec_rerun, exec_nodes = run_exec(segflow, work, args.jobs, n, not args.no_rerun)
        print(f"exec done, {load()}", flush=True)
    bench_times = bench_wall = None
    if use_bench:
        manifest_path = os.path.join(work, "npy", "manifest.txt")
        with open(manifest_path, "w") as f:
            f.write("\n".join(manifest) + "\n")
        bench_times, bench_wall = run_crfbench(crfbench_cmd, manifest_path)
        print(f"crfbench done, {load()}", flush=True)

    print()
    header = f"{'image':<22}{'py s':>8}"
    if use_bench:
        header += f"{'bench s':>9}{'ratio':>7}{'agree %':>9}"
    if use_exec:
        header += f"{'exec agree %':>13}"
    header += f"{'acc unary':>11}{'acc py':>8}"
    header += f"{'acc bench':>10}" if use_bench else ""
    header += f"{'acc exec':>10}" if use_exec else ""
    print(header)
    agree_exec, agree_bench, py_times, py_cpus, bench_list, bench_cpus = [], [], [], [], [], []
    for i, r in enumerate(rows):
        valid = r["label"] < args.classes
        acc = lambda lab: 100.0 * float((lab[valid] == r["label"][valid]).mean())
        py_times.append(r["py_time"])
        py_cpus.append(r["py_cpu"])
        line = f"{r['name']:<22}{r['py_time']:8.3f}"
        tail = f"{acc(r['probs'].argmax(0)):11.2f}{acc(r['py']):8.2f}"
        if use_bench:
            sw = np.load(r["bench_out"])
            st = bench_times[i][0]
            bench_list.append(st)
            if len(bench_times[i]) > 1:
                bench_cpus.append(bench_times[i][1])
            a = 100.0 * float((sw == r["py"]).mean())
            agree_bench.append(a)
            line += f"{st:9.3f}{r['py_time'] / st:7.2f}{a:9.3f}"
            tail += f"{acc(sw):10.2f}"
        if use_exec:
            ex = np.array(Image.open(os.path.join(work, "exec-out", r["stem"] + ".png")))
            if ex.ndim != 2 or ex.dtype != np.uint8 or ex.shape != r["shape"]:
                sys.exit(f"exec-out/{r['stem']}.png: expected an 8-bit grayscale {r['shape']} mask, "
                         f"got {ex.dtype} {ex.shape}")
            a = 100.0 * float((ex == r["py"]).mean())
            agree_exec.append(a)
            line += f"{a:13.3f}"
            tail += f"{acc(ex):10.2f}"
        print(line + tail)

    py_mean, py_cpu = float(np.mean(py_times)), float(np.mean(py_cpus))
    h, w = rows[0]["shape"]
    print()
    print(f"images: {n} ({w}x{h}, {args.classes} labels, {CRF_PARAMS[-1][1]} iterations, both kernels)")
    print(f"pydensecrf (single thread, in-process): {py_mean:.4f} s per image (CPU {py_cpu:.4f} s)")
    failed = []
    if use_exec:
        per = exec_time / n
        m = float(np.mean(agree_exec))
        print(f"segflow exec -j {args.jobs}: {exec_time:.2f} s for {n} images = {per:.4f} s per image "
              f"(whole command: process start, PNG decode/encode, cache ingest, copy-out)  "
              f"speed ratio (py / exec): {py_mean / per:.2f}x")
        print(f"  CPU time of the exec process (all threads): {exec_cpu:.2f} s = {exec_cpu / n:.4f} s per image  "
              f"CPU ratio (py / exec): {py_cpu / (exec_cpu / n):.2f}x")
        if exec_nodes:
            print("  inside it: " + ", ".join(f"{k} {v:.2f} s" for k, v in exec_nodes.items())
                  + (f"; crf stage alone {exec_nodes['crf'] / n:.4f} s per image "
                     f"(PNG/NPY reads, unary, CRF, PNG write), ratio (py / stage) {py_mean / (exec_nodes['crf'] / n):.2f}x"
                     if exec_nodes.get("crf") else ""))
        if exec_rerun is not None:
            print(f"  same command again, all cached (fixed overhead, no CRF): {exec_rerun:.2f} s")
        print(f"  agreement with pydensecrf MAP: mean {m:.3f} %  min {min(agree_exec):.3f} %")
        if m < args.min_agreement:
            failed.append(f"exec mean agreement {m:.3f} % < {args.min_agreement} %")
    if use_bench:
        per = float(np.mean(bench_list))
        m = float(np.mean(agree_bench))
        print(f"crfbench, compute only ({crfbench_cmd}):\n  "
              f"{per:.4f} s per image (unary + inference + argmax; process wall {bench_wall:.2f} s)  "
              f"speed ratio (py / crfbench): {py_mean / per:.2f}x")
        if len(bench_cpus) == n:
            bc = float(np.mean(bench_cpus))
            print(f"  CPU time (all threads): {bc:.4f} s per image  CPU ratio (py / crfbench): {py_cpu / bc:.2f}x")
        print(f"  agreement with pydensecrf MAP: mean {m:.3f} %  min {min(agree_bench):.3f} %")
        if m < args.min_agreement:
            failed.append(f"crfbench mean agreement {m:.3f} % < {args.min_agreement} %")
    if failed:
        print("FAIL: " + "; ".join(failed))
        sys.exit(1)
    print("OK")


if __name__ == "__main__":
    main()
