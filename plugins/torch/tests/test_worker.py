"""End-to-end tests: every stage driven through worker.py's real stdin/stdout protocol.

One tiny dataset (8 CamVid train images at 96x72) and one classifier (1 epoch) are shared
by the whole module; each stage call is a fresh worker process, as under the engine.
Run with the plugin's venv python:  python -m unittest discover -s tests -v
"""

import hashlib
import json
import os
import unittest

import numpy as np
from PIL import Image

import helpers

DATA = None
CLF = None  # outputDir of the first classifierTrain run
CLF_PARAMS = {"epochs": 1, "imageSize": 72, "batch": 4, "seed": 7}


def setUpModule():
    global DATA, CLF
    if helpers.camvid_root() is None:
        raise unittest.SkipTest("CamVid not found (set SEGFLOW_CAMVID)")
    DATA = helpers.Dataset()
    request = DATA.request("classifierTrain", "clf-a", {"images": DATA.images, "labels": DATA.labels}, CLF_PARAMS)
    run = helpers.run_worker(request)
    assert run.code == 0 and run.result, run.stderr[-3000:]
    CLF = request["outputDir"]


def tearDownModule():
    if DATA is not None:
        DATA.cleanup()


def read_json(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def sha(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


class Case(unittest.TestCase):
    def ok(self, stage, name, inputs, params=None, items=None, seed=0):
        request = DATA.request(stage, name, inputs, params, items, seed)
        run = helpers.run_worker(request)
        self.assertEqual(run.code, 0, run.stderr[-3000:])
        self.assertIsNotNone(run.result, run.events)
        self.assertEqual(sum(e["event"] == "result" for e in run.events), 1)
        for event in run.events:
            self.assertIn(event["event"], ("progress", "log", "result"))
        return request["outputDir"], run

    def cams(self, out, stems=None):
        folder = os.path.join(out, "cams")
        found = sorted(os.listdir(folder))
        if stems is not None:
            self.assertEqual(found, sorted(f"{s}.npy" for s in stems))
        return {f[:-4]: np.load(os.path.join(folder, f)) for f in found}


class ClassifierTest(Case):
    def test_outputs_and_metrics(self):
        meta = read_json(os.path.join(CLF, "model", "meta.json"))
        self.assertEqual(meta["backbone"], "resnet18")
        self.assertEqual([c["name"] for c in meta["classes"]], helpers.CAMVID_NAMES)
        self.assertEqual(meta["imageSize"], 72)
        for key in ("train_map", "train_f1", "val_map", "val_f1"):
            self.assertIn(key, meta["metrics"])

    def test_same_seed_same_bytes(self):
        out, _ = self.ok("classifierTrain", "clf-b", {"images": DATA.images, "labels": DATA.labels}, CLF_PARAMS)
        for name in ("model.pt", "meta.json"):
            self.assertEqual(sha(os.path.join(CLF, "model", name)), sha(os.path.join(out, "model", name)), name)
        other, _ = self.ok("classifierTrain", "clf-c", {"images": DATA.images, "labels": DATA.labels},
                           {**CLF_PARAMS, "seed": 8})
        self.assertNotEqual(sha(os.path.join(CLF, "model", "model.pt")), sha(os.path.join(other, "model", "model.pt")))


class CamTest(Case):
    def test_cam_labelled_items_only(self):
        stems = DATA.stems[:3]
        inputs = {"images": DATA.images, "labels": DATA.labels, "model": DATA.model_input(CLF)}
        out, run = self.ok("cam", "cam-labelled", inputs, items=stems)
        for stem, cam in self.cams(out, stems).items():
            self.assertEqual(cam.dtype, np.dtype("<f4"))
            self.assertEqual(cam.shape, (11, 72, 96))
            self.assertTrue(cam.flags["C_CONTIGUOUS"])
            present = read_json(DATA.labels[f"{stem}.json"])
            for c, name in enumerate(helpers.CAMVID_NAMES):
                if name not in present:
                    self.assertEqual(np.abs(cam[c]).max(), 0.0, name)
                else:
                    self.assertGreaterEqual(cam[c].min(), 0.0)
                    self.assertIn(round(float(cam[c].max()), 5), (0.0, 1.0))

    def test_cam_equals_hirescam(self):
        """GAP + linear head: HiResCAM = CAM / (h*w), so after `max` they must agree."""
        inputs = {"images": DATA.images, "model": DATA.model_input(CLF)}  # no labels: every class
        params = {"classes": "all", "normalize": "max"}
        cam_out, _ = self.ok("cam", "cam-all", inputs, {"classes": "all", "normalize": "max"}, items=DATA.stems[:2])
        hires_out, _ = self.ok("hirescam", "hires-all", inputs, params, items=DATA.stems[:2])
        cams, hires = self.cams(cam_out), self.cams(hires_out)
        self.assertEqual(sorted(cams), sorted(DATA.stems[:2]))
        for stem in cams:
            self.assertGreater(cams[stem].max(), 0.5)
            np.testing.assert_allclose(cams[stem], hires[stem], atol=1e-5, rtol=0)  # seen: 1.5e-6

    def test_gradcampp_matches_library(self):
        """Our gradcampp with minmax = pytorch_grad_cam.GradCAMPlusPlus called directly."""
        import torch
        import torchvision
        from pytorch_grad_cam import GradCAMPlusPlus
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

        stems = DATA.stems[2:4]
        inputs = {"images": DATA.images, "model": DATA.model_input(CLF)}
        out, _ = self.ok("gradcampp", "gcpp", inputs, {"classes": "all", "normalize": "minmax"}, items=stems)
        ours = self.cams(out, stems)

        model = torchvision.models.resnet18(weights=None)
        model.fc = torch.nn.Linear(512, 11)
        model.load_state_dict(torch.load(os.path.join(CLF, "model", "model.pt"), weights_only=True))
        model.eval()
        mean = np.array([0.485, 0.456, 0.406], dtype=np.float32)
        std = np.array([0.229, 0.224, 0.225], dtype=np.float32)
        explainer = GradCAMPlusPlus(model, [model.layer4])
        for stem in stems:
            # imageSize 72 = the short side of the 96x72 test images: no resizing anywhere
            with Image.open(DATA.images[f"{stem}.png"]) as image:
                pixels = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
            x = torch.from_numpy(((pixels - mean) / std).transpose(2, 0, 1).copy())[None]
            for c in range(11):
                reference = explainer(x, [ClassifierOutputTarget(c)])[0]
                np.testing.assert_allclose(ours[stem][c], reference, atol=1e-5, rtol=0, err_msg=f"{stem} class {c}")


class SegmentationTest(Case):
    def check_model_and_predict(self, stage, arch, twice=False):
        inputs, params = {"images": DATA.images, "masks": DATA.masks}, {"epochs": 1, "batch": 4}
        out, run = self.ok(stage, stage, inputs, params)
        self.assertIn("val_miou", run.result["metrics"])
        if twice:  # the same seed gives the same bytes for segmentation models too
            again, _ = self.ok(stage, f"{stage}-again", inputs, params)
            self.assertEqual(sha(os.path.join(out, "model", "model.pt")), sha(os.path.join(again, "model", "model.pt")))
        meta = read_json(os.path.join(out, "model", "meta.json"))
        self.assertEqual(meta["arch"], arch)
        pred, _ = self.ok("predict", f"predict-{stage}", {"images": DATA.images, "model": DATA.model_input(out)},
                          items=DATA.stems[:2])
        found = sorted(os.listdir(os.path.join(pred, "masks")))
        self.assertEqual(found, sorted(f"{s}.png" for s in DATA.stems[:2]))
        for name in found:
            with Image.open(os.path.join(pred, "masks", name)) as image:
                self.assertEqual((image.mode, image.size), ("L", helpers.SIZE))
                self.assertTrue(set(np.unique(np.asarray(image)).tolist()) <= set(range(11)))

    def test_unet(self):
        self.check_model_and_predict("unetTrain", "unet", twice=True)

    def test_deeplab(self):
        self.check_model_and_predict("deeplabTrain", "deeplabv3plus")

    def test_unet_scribbles_gatedcrf(self):
        """Sparse scribble-like masks on the masks port + the Gated CRF regularizer."""
        self.check_scribbles_gatedcrf("unetTrain")

    def test_deeplab_scribbles_gatedcrf_half_size(self):
        """At scale 0.5 nearest neighbour alone would drop every 1-pixel line (they sit on
        even rows and columns, nearest samples odd ones); the strokes must survive."""
        self.check_scribbles_gatedcrf("deeplabTrain", scale=0.5)

    def check_scribbles_gatedcrf(self, stage, **extra):
        scribbles = DATA.scribbles(every=12)  # about 16% of the pixels labelled
        params = {"epochs": 1, "batch": 4, "regularizer": "gatedcrf", **extra}
        out, run = self.ok(stage, f"{stage}-scribbles", {"images": DATA.images, "masks": scribbles}, params)
        found = run.result["metrics"]
        self.assertLess(found["train_labelled_fraction"], 0.5)
        self.assertGreater(found["train_labelled_fraction"], 0.1)
        self.assertLess(found["val_labelled_fraction"], 0.5)
        for key in ("train_loss", "train_ce", "train_gatedcrf"):
            self.assertIsInstance(found[key], float, key)
        self.assertGreater(found["train_gatedcrf"], 0.0)
        self.assertAlmostEqual(found["train_loss"], found["train_ce"] + 0.1 * found["train_gatedcrf"], places=4)
        logs = " ".join(e["message"] for e in run.events if e["event"] == "log")
        self.assertIn("count only the labelled pixels", logs)
        self.assertIn("regularizer gatedcrf", logs)
        meta = read_json(os.path.join(out, "model", "meta.json"))
        self.assertEqual(meta["loss"]["regularizer"], "gatedcrf")
        self.assertTrue(os.path.getsize(os.path.join(out, "model", "model.pt")) > 0)


class ErrorTest(Case):
    def assert_single_error(self, request, fragment):
        run = helpers.run_worker(request)
        self.assertEqual(run.code, 1)
        self.assertEqual(len(run.events), 1, run.events)
        self.assertEqual(run.events[0]["event"], "error")
        self.assertIn(fragment, run.events[0]["message"])
        self.assertIn("traceback", run.events[0])

    def test_unknown_stage(self):
        self.assert_single_error(DATA.request("nope", "e1", {"images": DATA.images}), "unknown stage")

    def test_missing_input(self):
        self.assert_single_error(DATA.request("classifierTrain", "e2", {"images": DATA.images}), "labels")

    def test_bad_param(self):
        request = DATA.request("cam", "e3", {"images": DATA.images, "model": DATA.model_input(CLF)},
                               {"normalize": "sometimes"})
        self.assert_single_error(request, "normalize")

    def test_unknown_regularizer(self):
        request = DATA.request("unetTrain", "e7", {"images": DATA.images, "masks": DATA.masks},
                               {"regularizer": "densecrf", "epochs": 1})
        self.assert_single_error(request, "param 'regularizer' of 'unetTrain' must be one of none, gatedcrf")

    def test_missing_imagenet_weights(self):
        """pretrained: imagenet never downloads: absent weights are a clear error."""
        import torch
        if os.path.exists(os.path.join(torch.hub.get_dir(), "checkpoints", "resnet18-f37072fd.pth")):
            self.skipTest("ImageNet weights are cached on this machine")
        request = DATA.request("classifierTrain", "e5", {"images": DATA.images, "labels": DATA.labels},
                               {"pretrained": "imagenet", "epochs": 1})
        self.assert_single_error(request, "ImageNet weights for resnet18 are not in")

    def test_missing_encoder_weights(self):
        request = DATA.request("unetTrain", "e6", {"images": DATA.images, "masks": DATA.masks},
                               {"encoderWeights": "imagenet", "epochs": 1})
        run = helpers.run_worker(request)
        if run.code == 0:
            self.skipTest("smp's ImageNet weights are cached on this machine")
        self.assertEqual([e["event"] for e in run.events], ["error"])
        self.assertIn("ImageNet weights for encoder resnet18", run.events[0]["message"])

    def test_not_json(self):
        self.assert_single_error("{not json", "not valid JSON")

    def test_failure_inside_stage(self):
        """A failure after torch is imported is still one error event (model file missing)."""
        inputs = {"images": DATA.images, "model": {"model.pt": "/nonexistent/model.pt",
                                                   "meta.json": os.path.join(CLF, "model", "meta.json")}}
        self.assert_single_error(DATA.request("cam", "e4", inputs), "model.pt")


if __name__ == "__main__":
    unittest.main()
