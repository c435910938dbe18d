"""Fast tests of the pieces that need no worker process: metrics, split, params, manifest."""

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
    """plugin.yaml (read by the engine) and stages.STAGES (used by the worker) agree."""

    def test_manifest_matches_stage_table(self):
        try:
            import yaml
        except ImportError:
            self.skipTest("PyYAML not installed")
        with open(os.path.join(helpers.PLUGIN, "plugin.yaml"), encoding="utf-8") as handle:
            manifest = yaml.safe_load(handle)
        self.assertEqual(manifest["entry"], "worker.py")
        self.assertEqual(set(manifest["stages"]), set(stages.STAGES))
        for name, stage in stages.STAGES.items():
            declared = manifest["stages"][name]
            for key in ("granularity", "inputs", "outputs"):
                self.assertEqual(declared[key], stage[key], f"{name}.{key}")
            self.assertEqual(declared["params"] or {}, stage["params"], f"{name}.params")


if __name__ == "__main__":
    unittest.main()
