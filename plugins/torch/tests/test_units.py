"""Fast tests of the pieces that need no worker process: metrics, split, params, manifest, labels."""

import os
import sys
import unittest

import numpy as np

import helpers

sys.path.insert(0, helpers.PLUGIN)

from segflow_torch import data, metrics, stages  # noqa: E402
from segflow_torch.protocol import StageError  # noqa: E402


class MetricsTest(unittest.TestCase):
    def test_average_precision(self):
        scores = np.array([0.9, 0.8, 0.7, 0.1])
        self.assertAlmostEqual(metrics.average_precision(scores, np.array([1, 0, 1, 0])), (1 + 2 / 3) / 2)
        self.assertTrue(np.isnan(metrics.average_precision(scores, np.zeros(4))))

    def test_multilabel(self):
        probs = np.array([[0.9, 0.2], [0.1, 0.8]])
        found = metrics.multilabel_scores(probs, np.array([[1, 0], [0, 1]], dtype=np.float32))
        self.assertEqual((found["map"], found["f1"], found["f1_micro"]), (1.0, 1.0, 1.0))

    def test_miou_ignores_255(self):
        truth = np.array([[0, 1], [255, 1]], dtype=np.uint8)
        pred = np.array([[0, 0], [1, 1]], dtype=np.uint8)
        found = metrics.segmentation_scores(metrics.confusion(pred, truth, 2))
        self.assertAlmostEqual(found["miou"], (1 / 2 + 1 / 2) / 2)
        self.assertAlmostEqual(found["pixel_acc"], 2 / 3)


class DataTest(unittest.TestCase):
    def test_split_is_fixed(self):
        stems = [f"img{i:03d}" for i in range(50)]
        train, val = data.split(stems, 0.2)
        self.assertEqual(len(val), 10)
        self.assertEqual((train, val), data.split(list(reversed(stems)), 0.2))
        self.assertEqual(data.split(["only"], 0.5), (["only"], []))

    def test_mask_lut(self):
        lut = data.mask_lut([{"id": 3, "name": "a"}, {"id": 0, "name": "b"}], ignore=11)
        self.assertEqual((lut[3], lut[0], lut[11], lut[255], lut[7]), (0, 1, 255, 255, 255))


class ParamsTest(unittest.TestCase):
    def test_defaults_and_checks(self):
        self.assertEqual(stages.resolve_params("cam", {})["normalize"], "max")
        with self.assertRaises(StageError):
            stages.resolve_params("cam", {"bogus": 1})
        with self.assertRaises(StageError):
            stages.resolve_params("classifierTrain", {"epochs": 0})
        with self.assertRaises(StageError):
            stages.resolve_params("classifierTrain", {"epochs": True})
        self.assertEqual(stages.resolve_params("classifierTrain", {"lr": 1})["lr"], 1)
        self.assertEqual(stages.resolve_params("classifierTrain", {"epochs": 3.0})["epochs"], 3)


class ManifestTest(unittest.TestCase):
    """plugin.yaml is the one stage table: the worker loads it; stages.py only adds functions."""

    def test_every_stage_has_a_function_and_back(self):
        self.assertEqual(set(stages.table()), set(stages.FUNCTIONS))
        for name, target in stages.FUNCTIONS.items():
            module, function = target.split(":")
            source = os.path.join(helpers.PLUGIN, "segflow_torch", module + ".py")
            with open(source, encoding="utf-8") as handle:
                self.assertIn(f"\ndef {function}(request, params):", handle.read(), f"{name} -> {target}")

    def test_manifest_read_as_declared(self):
        with open(stages.MANIFEST, encoding="utf-8") as handle:
            self.assertIn("# ", handle.read())  # the user-facing declaration keeps its comments
        table = stages.table()
        self.assertEqual(table["cam"]["inputs"], {"images": "Images", "model": "Model", "labels": "Labels?"})
        self.assertEqual(table["predict"]["params"], {})
        for name in ("unetTrain", "deeplabTrain"):
            self.assertEqual(table[name]["inputs"]["masks"], "Masks|Scribbles")
            self.assertEqual(table[name]["granularity"], "reduce")
        self.assertEqual(table["classifierTrain"]["params"]["lr"]["default"], 0.001)
        self.assertIsInstance(table["unetTrain"]["params"]["scale"]["default"], float)

    def test_every_default_is_valid(self):
        """Defaults pass their own rules (a YAML 1.1 slip such as `1e-3`, a string, fails here)."""
        for name, stage in stages.table().items():
            params = stages.resolve_params(name, {})
            self.assertEqual(set(params), set(stage["params"]), name)
            for pname, rule in stage["params"].items():
                self.assertIn(rule["type"], ("string", "int", "float", "bool", "file", "stringList"), f"{name}.{pname}")
                for bound in ("min", "max"):
                    if bound in rule:
                        self.assertIsInstance(rule[bound], (int, float), f"{name}.{pname}.{bound}")

    def test_load_manifest_reads_a_file(self):
        import tempfile
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
            handle.write("stages:\n  s:\n    inputs: {a: \"Masks|Scribbles\"}\n"
                         "    params:\n      w: {type: float, default: 0, min: 0}\n      k: {default: x}\n")
        try:
            table = stages.load_manifest(handle.name)
        finally:
            os.unlink(handle.name)
        self.assertEqual(table["s"]["granularity"], "map")
        self.assertEqual(table["s"]["inputs"], {"a": "Masks|Scribbles"})
        self.assertEqual(table["s"]["params"]["w"], {"type": "float", "default": 0.0, "min": 0})
        self.assertIsInstance(table["s"]["params"]["w"]["default"], float)
        self.assertEqual(table["s"]["params"]["k"]["type"], "string")


class SegmentationParamsTest(unittest.TestCase):
    def test_regularizer_params(self):
        for name in ("unetTrain", "deeplabTrain"):
            params = stages.resolve_params(name, {})
            self.assertEqual((params["regularizer"], params["regularizerWeight"]), ("none", 0.1))
            self.assertEqual((params["gatedcrfRadius"], params["gatedcrfSxy"], params["gatedcrfSrgb"],
                              params["gatedcrfDownscale"]), (5, 6.0, 6.0, 4))
            self.assertEqual(stages.resolve_params(name, {"regularizer": "gatedcrf"})["regularizer"], "gatedcrf")
            with self.assertRaisesRegex(StageError, "must be one of none, gatedcrf"):
                stages.resolve_params(name, {"regularizer": "densecrf"})
            with self.assertRaisesRegex(StageError, "out of range"):
                stages.resolve_params(name, {"regularizerWeight": -0.5})
            with self.assertRaisesRegex(StageError, "must be a int"):
                stages.resolve_params(name, {"gatedcrfRadius": 2.5})
            with self.assertRaisesRegex(StageError, "must be a string"):
                stages.resolve_params(name, {"regularizer": 1})

    def test_missing_masks_input(self):
        with self.assertRaisesRegex(StageError, "needs input 'masks' \\(Masks\\|Scribbles\\)"):
            stages.check_inputs("unetTrain", {"inputs": {"images": {}}})
        stages.check_inputs("cam", {"inputs": {"images": {}, "model": {}}})  # labels is optional


class SparseLabelsTest(unittest.TestCase):
    def test_downscaling_keeps_thin_scribbles(self):
        labels = np.full((40, 60), data.IGNORE, dtype=np.uint8)
        labels[14, 5:55] = 2   # a one-pixel horizontal stroke on an even row (nearest samples odd ones)
        labels[3:37, 30] = 1   # a one-pixel vertical stroke on an even column
        small = data.resize_labels(labels, (30, 20))
        self.assertEqual(small.shape, (20, 30))
        self.assertGreaterEqual(int((small == 2).sum()), 20)
        self.assertGreaterEqual(int((small == 1).sum()), 15)
        self.assertTrue(set(np.unique(small).tolist()) <= {1, 2, data.IGNORE})
        self.assertGreater(int((small == data.IGNORE).sum()), 500)  # still sparse

    def test_dense_masks_stay_nearest(self):
        rng = np.random.default_rng(0)
        labels = rng.integers(0, 4, size=(36, 48)).astype(np.uint8)
        from PIL import Image
        near = np.asarray(Image.fromarray(labels).resize((24, 18), Image.NEAREST))
        np.testing.assert_array_equal(data.resize_labels(labels, (24, 18)), near)
        np.testing.assert_array_equal(data.resize_labels(labels, (96, 72)),
                                      np.asarray(Image.fromarray(labels).resize((96, 72), Image.NEAREST)))


if __name__ == "__main__":
    unittest.main()
