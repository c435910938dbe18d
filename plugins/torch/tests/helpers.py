"""Test fixtures: a tiny CamVid-derived dataset laid out like the engine's store, and a
driver that runs worker.py through its real stdin/stdout protocol."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

PLUGIN = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(os.path.dirname(PLUGIN))
WORKER = os.path.join(PLUGIN, "worker.py")

CAMVID_NAMES = ["Sky", "Building", "Pole", "Road", "Pavement", "Tree", "SignSymbol",
                "Fence", "Car", "Pedestrian", "Bicyclist"]
CLASSES = [{"id": i, "name": n, "color": [i * 20, i * 10, 255 - i * 20]} for i, n in enumerate(CAMVID_NAMES)]
IGNORE = 11
SIZE = (96, 72)  # width, height


def camvid_root():
    """SEGFLOW_CAMVID, else ../shared/data/camvid relative to the repository root."""
    for candidate in (os.environ.get("SEGFLOW_CAMVID"),
                      os.path.join(REPO, "..", "shared", "data", "camvid")):
        if candidate and os.path.isdir(os.path.join(candidate, "train")):
            return os.path.abspath(candidate)
    return None


class Dataset:
    """`count` CamVid train images downscaled to 96x72, with masks and Labels JSON.

    Files are stored under extension-less names (as in the engine's object store); the
    `inputs` maps hold `<stem>.<ext>` -> path like a real request."""

    def __init__(self, count=8):
        root = camvid_root()
        if root is None:
            raise FileNotFoundError("CamVid not found: set SEGFLOW_CAMVID")
        self.dir = tempfile.mkdtemp(prefix="segflow-torch-test-")
        store = os.path.join(self.dir, "objects")
        os.makedirs(store)
        names = sorted(os.listdir(os.path.join(root, "train")))[::40][:count]
        self.stems = [os.path.splitext(n)[0] for n in names]
        self.images, self.masks, self.labels, self._scribbles = {}, {}, {}, {}
        for index, stem in enumerate(self.stems):
            image = Image.open(os.path.join(root, "train", stem + ".png")).convert("RGB").resize(SIZE, Image.BILINEAR)
            mask = Image.open(os.path.join(root, "trainannot", stem + ".png")).resize(SIZE, Image.NEAREST)
            present = set(np.unique(np.asarray(mask)).tolist())
            names_present = [c["name"] for c in CLASSES if c["id"] in present]
            self.images[f"{stem}.png"] = self._store(store, f"i{index}", lambda p: image.save(p, format="PNG"))
            self.masks[f"{stem}.png"] = self._store(store, f"m{index}", lambda p: mask.save(p, format="PNG"))
            self.labels[f"{stem}.json"] = self._store(store, f"l{index}", lambda p: _write_json(p, names_present))

    def scribbles(self, every=12):
        """Scribble-like sparse labels: each mask kept only on every `every`-th row and
        column line (255 elsewhere), stored like the masks; returns the input map."""
        if every in self._scribbles:
            return self._scribbles[every]
        store = os.path.join(self.dir, "objects")
        found = self._scribbles[every] = {}
        for index, (name, path) in enumerate(sorted(self.masks.items())):
            with Image.open(path) as mask:
                ids = np.asarray(mask).copy()
            lines = np.zeros(ids.shape, dtype=bool)
            lines[::every, :] = True
            lines[:, ::every] = True
            ids[~lines] = 255
            found[name] = self._store(store, f"s{every}-{index}",
                                      lambda p: Image.fromarray(ids).save(p, format="PNG"))
        return found

    @staticmethod
    def _store(store, name, write):
        path = os.path.join(store, name)
        write(path)
        os.chmod(path, 0o444)
        return path

    def out(self, name):
        path = os.path.join(self.dir, "out", name)
        os.makedirs(path, exist_ok=True)
        return path

    def model_input(self, out_dir):
        folder = os.path.join(out_dir, "model")
        return {"model.pt": os.path.join(folder, "model.pt"), "meta.json": os.path.join(folder, "meta.json")}

    def request(self, stage, out_name, inputs, params=None, items=None, seed=0):
        return {"protocol": 1, "stage": stage, "node": out_name, "params": params or {},
                "classes": CLASSES, "ignore": IGNORE, "background": None,
                "items": items, "inputs": inputs, "outputDir": self.out(out_name),
                "device": "cpu", "seed": seed, "threads": 2}

    def cleanup(self):
        for folder, _, files in os.walk(self.dir):
            for name in files:
                os.chmod(os.path.join(folder, name), 0o644)
        shutil.rmtree(self.dir, ignore_errors=True)


def _write_json(path, value):
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(value, handle)


class Run:
    def __init__(self, code, events, stderr):
        self.code, self.events, self.stderr = code, events, stderr

    @property
    def result(self):
        return self.events[-1] if self.events and self.events[-1]["event"] == "result" else None


def run_worker(request, timeout=900, env=None):
    """Run worker.py with `request` on stdin (in `env`, default ours); every stdout line must be a JSON event."""
    line = request if isinstance(request, str) else json.dumps(request)
    proc = subprocess.run([sys.executable, WORKER], input=line + "\n", capture_output=True,
                          text=True, cwd=PLUGIN, timeout=timeout, env=env)
    events = []
    for raw in proc.stdout.splitlines():
        event = json.loads(raw)  # anything but JSON on stdout is a protocol violation
        assert isinstance(event, dict) and "event" in event, raw
        events.append(event)
    return Run(proc.returncode, events, proc.stderr)
