"""clipLabel through worker.py on a tiny randomly initialised open_clip model (seconds, offline).

The model is a custom open_clip config (a 1-layer ViT on 32x32 images, a 1-layer text tower)
saved as a checkpoint, so the whole path (config registration, checkpoint loading, tokenizer,
templates, scoring, both outputs) runs without any downloaded weights.
"""

import json
import os
import shutil
import sys
import tempfile
import unittest

import numpy as np
from PIL import Image

import helpers

sys.path.insert(0, helpers.PLUGIN)
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import open_clip  # noqa: E402
import torch  # noqa: E402

from segflow_torch import clip, stages  # noqa: E402
from segflow_torch.protocol import StageError  # noqa: E402

NAMES = ["Sky", "Road", "Car", "Tree"]
CLASSES = [{"id": i, "name": n, "color": [0, 0, 0]} for i, n in enumerate(NAMES)]
TINY = {
    "embed_dim": 16,
    "init_logit_bias": -2.0,  # a SigLIP-style bias, so sigmoid scoring can run too
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}
DIR = None


def setUpModule():
    global DIR
    DIR = tempfile.mkdtemp(prefix="segflow-clip-test-")
    config = os.path.join(DIR, "tiny.json")
    with open(config, "w", encoding="utf-8") as handle:
        json.dump(TINY, handle)
    configs = os.path.join(DIR, "configs")
    os.makedirs(configs)
    shutil.copy(config, os.path.join(configs, "tiny-clip.json"))
    open_clip.add_model_config(configs)
    torch.manual_seed(0)
    model = open_clip.create_model("tiny-clip", pretrained=None)
    torch.save(model.state_dict(), os.path.join(DIR, "tiny.pt"))
    rng = np.random.default_rng(1)
    os.makedirs(os.path.join(DIR, "store"))
    for i in range(3):
        pixels = rng.integers(0, 256, size=(24, 40, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(os.path.join(DIR, "store", f"obj{i}"), format="PNG")


def tearDownModule():
    shutil.rmtree(DIR, ignore_errors=True)


def request(name, **params):
    base = {"model": "tiny-clip", "modelConfig": os.path.join(DIR, "tiny.json"), "checkpoint": os.path.join(DIR, "tiny.pt"),
            "templates": ["a photo of {}.", "a picture of the {}."], "batch": 2}
    base.update(params)
    out = os.path.join(DIR, "out", name)
    os.makedirs(out, exist_ok=True)
    return {"protocol": 1, "stage": "clipLabel", "node": name, "params": base, "classes": CLASSES, "ignore": None,
            "background": None, "items": None, "outputDir": out, "device": "cpu", "seed": 0, "threads": 2,
            "inputs": {"images": {f"frame{i}.png": os.path.join(DIR, "store", f"obj{i}") for i in range(3)}}}


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


class ClipLabelTest(unittest.TestCase):
    def run_ok(self, req):
        run = helpers.run_worker(req, timeout=300)
        self.assertEqual(run.code, 0, run.stderr[-3000:] + str(run.events[-1:]))
        return req["outputDir"], run.result["metrics"]

    def test_softmax_outputs_have_the_right_shape(self):
        out, metrics = self.run_ok(request("soft"))
        self.assertEqual(metrics["items"], 3)
        self.assertEqual(sorted(os.listdir(os.path.join(out, "labels"))), [f"frame{i}.json" for i in range(3)])
        self.assertEqual(sorted(os.listdir(os.path.join(out, "scores"))), [f"frame{i}.json" for i in range(3)])
        for i in range(3):
            scores = json.loads(read(os.path.join(out, "scores", f"frame{i}.json")))
            self.assertEqual(list(scores), NAMES, "every class, in classes order")
            self.assertAlmostEqual(sum(scores.values()), 1.0, places=4)
            labels = json.loads(read(os.path.join(out, "labels", f"frame{i}.json")))
            self.assertEqual(labels, [n for n in NAMES if scores[n] >= 0.2])
        # Same model, images and params: the same bytes.
        again, _ = self.run_ok(request("soft-again"))
        for port in ("labels", "scores"):
            for i in range(3):
                self.assertEqual(read(os.path.join(out, port, f"frame{i}.json")), read(os.path.join(again, port, f"frame{i}.json")))

    def test_threshold_and_sigmoid(self):
        out, _ = self.run_ok(request("sig", scoring="sigmoid", threshold=1.0))
        for i in range(3):
            scores = json.loads(read(os.path.join(out, "scores", f"frame{i}.json")))
            self.assertTrue(all(0.0 < s < 1.0 for s in scores.values()), scores)
            self.assertNotAlmostEqual(sum(scores.values()), 1.0, places=3)
            self.assertEqual(json.loads(read(os.path.join(out, "labels", f"frame{i}.json"))), [])

    def test_missing_checkpoint_is_a_clear_error(self):
        missing = os.path.join(DIR, "nowhere", "weights.pt")
        params = stages.resolve_params("clipLabel", request("missing", checkpoint=missing)["params"])
        with self.assertRaises(StageError) as caught:
            clip.load(params, torch.device("cpu"))
        self.assertIn(missing, str(caught.exception))
        self.assertIn("put the open_clip weights for tiny-clip there", str(caught.exception))
        with self.assertRaises(StageError) as caught:
            stages.resolve_params("clipLabel", {"templates": ["a photo of {}.", 3]})
        self.assertIn("list of strings", str(caught.exception))

    def test_no_checkpoint_offline_names_the_file_to_put_where(self):
        empty = os.path.join(DIR, "empty-home")
        os.makedirs(empty, exist_ok=True)
        req = request("cache", checkpoint="", modelConfig="", model="ViT-B-32", pretrained="laion2b_s34b_b79k")
        env = dict(os.environ, HF_HOME=os.path.join(empty, "hf"), HOME=empty, HF_HUB_OFFLINE="1")
        run = helpers.run_worker(req, timeout=300, env=env)
        self.assertEqual(run.code, 1, run.events)
        message = run.events[-1]["message"]
        self.assertIn("never downloaded", message)
        self.assertIn("laion/CLIP-ViT-B-32-laion2B-s34B-b79K", message)
        self.assertIn(os.path.join(empty, "hf"), message, "the hub cache it looked in")
        self.assertIn("checkpoint:", message)


if __name__ == "__main__":
    unittest.main()
