"""The Gated CRF loss (segflow_torch/gatedcrf.py) on small synthetic images."""

import math
import sys
import unittest

import helpers

sys.path.insert(0, helpers.PLUGIN)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from segflow_torch import gatedcrf, segmentation  # noqa: E402


def one_hot(labels, classes):
    """(N, H, W) long -> (N, C, H, W) float probabilities."""
    return F.one_hot(labels, classes).permute(0, 3, 1, 2).float()


def two_tone(height, width, edge, dark=40.0, light=210.0):
    """(1, 3, H, W) image: columns < edge dark, the rest light (8-bit levels)."""
    image = torch.full((1, 3, height, width), dark)
    image[..., edge:] = light
    return image


def split_labels(height, width, edge):
    """(1, H, W): class 0 left of column `edge`, class 1 from it on."""
    labels = torch.zeros((1, height, width), dtype=torch.long)
    labels[..., edge:] = 1
    return labels


def naive(probs, image, gate, radius, sxy, srgb):
    """The loss written as its double sum, for tiny inputs (downscale 1)."""
    _, _, height, width = probs.shape
    total = 0.0
    for yi in range(height):
        for xi in range(width):
            if not gate[0, 0, yi, xi]:
                continue
            for yj in range(max(0, yi - radius), min(height, yi + radius + 1)):
                for xj in range(max(0, xi - radius), min(width, xi + radius + 1)):
                    if (yi, xi) == (yj, xj) or not gate[0, 0, yj, xj]:
                        continue
                    colour = float(((image[0, :, yi, xi] - image[0, :, yj, xj]) ** 2).sum())
                    k = math.exp(-((xi - xj) ** 2 + (yi - yj) ** 2) / (2 * sxy ** 2) - colour / (2 * srgb ** 2))
                    total += k * (1.0 - float((probs[0, :, yi, xi] * probs[0, :, yj, xj]).sum()))
    return total / float(gate.sum())


def unfold_form(probs, image, gate, radius, sxy, srgb):
    """The reference implementation's form (downscale 1): unfold features and probabilities
    into (N, C, (2r+1)^2, H, W) windows, zero the centre, loss = sum K - sum K y_i.y_j."""
    n, c, h, w = probs.shape
    d = 2 * radius + 1

    def unfold(t):
        return F.unfold(t, d, padding=radius).view(n, t.shape[1], d * d, h, w)

    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    features = torch.cat([torch.stack([xs, ys]).expand(n, 2, h, w) / sxy, image / srgb], 1)
    kernels = (-0.5 * (unfold(features) - features.unsqueeze(2)) ** 2).sum(1, keepdim=True).exp()
    kernels[:, :, d * d // 2] = 0.0
    kernels = kernels * unfold(gate) * gate.unsqueeze(2)  # mask_src and mask_dst
    product = (kernels * unfold(probs)).sum(2)
    return (kernels.sum() - (product * probs).sum()) / gate.sum()


class GatedCRFTest(unittest.TestCase):
    def test_constant_prediction_costs_nothing(self):
        torch.manual_seed(0)
        image = torch.rand(2, 3, 40, 56) * 255
        probs = one_hot(torch.full((2, 40, 56), 3, dtype=torch.long), 5)
        for downscale in (1, 4):
            loss = gatedcrf.gated_crf_loss(probs, image, downscale=downscale)
            self.assertLess(float(loss), 1e-6, downscale)  # also: the image border adds nothing

    def test_label_change_inside_uniform_region_costs_more_than_along_an_edge(self):
        height, width = 48, 64
        image = two_tone(height, width, edge=32)
        along_edge = one_hot(split_labels(height, width, 32), 2)
        inside_region = one_hot(split_labels(height, width, 16), 2)
        for downscale in (1, 4):
            edge_loss = float(gatedcrf.gated_crf_loss(along_edge, image, downscale=downscale))
            region_loss = float(gatedcrf.gated_crf_loss(inside_region, image, downscale=downscale))
            self.assertGreater(region_loss, 0.1, downscale)
            self.assertLess(edge_loss * 100, region_loss, downscale)
        # with no colour edge the two cuts cost the same
        flat = torch.full((1, 3, height, width), 90.0)
        self.assertAlmostEqual(float(gatedcrf.gated_crf_loss(along_edge, flat, downscale=1)),
                               float(gatedcrf.gated_crf_loss(inside_region, flat, downscale=1)), places=4)

    def test_matches_the_double_sum(self):
        torch.manual_seed(1)
        probs = torch.randn(1, 3, 5, 7).softmax(1)
        image = torch.rand(1, 3, 5, 7) * 40
        gate = torch.ones(1, 1, 5, 7)
        gate[..., 6:] = 0.0  # a padding column
        gate[..., 4:, :] = 0.0  # and a padding row
        for radius in (1, 2):
            found = float(gatedcrf.gated_crf_loss(probs, image, gate, radius=radius, sxy=1.5, srgb=20.0, downscale=1))
            self.assertAlmostEqual(found, naive(probs, image, gate, radius, 1.5, 20.0), places=5)

    def test_matches_the_unfold_form(self):
        torch.manual_seed(6)
        for height, width, radius in ((24, 31, 5), (9, 40, 3)):
            probs = torch.randn(2, 4, height, width).softmax(1)
            image = 100 + torch.rand(2, 3, height, width) * 12  # low contrast: affinities well above 0
            gate = torch.ones(2, 1, height, width)
            gate[1, :, height - 4:] = 0.0
            expected = float(unfold_form(probs, image, gate, radius, 6.0, 6.0))
            found = float(gatedcrf.gated_crf_loss(probs, image, gate, radius=radius, downscale=1))
            self.assertAlmostEqual(found, expected, delta=1e-5 * max(1.0, expected))
            self.assertGreater(expected, 1.0)

    def test_padding_is_gated_out(self):
        torch.manual_seed(2)
        image = torch.rand(1, 3, 32, 48) * 255
        gate = torch.ones(1, 1, 32, 48)
        gate[..., 42:] = 0.0  # not on a 4-pixel cell boundary: cell 10 is half padding
        probs = one_hot(torch.zeros((1, 32, 48), dtype=torch.long), 3)
        noisy = probs.clone()
        noisy[..., 42:] = torch.rand(1, 3, 32, 6).softmax(1)  # whatever the model says on padding
        for downscale in (1, 4):
            self.assertLess(float(gatedcrf.gated_crf_loss(noisy, image, gate, downscale=downscale)), 1e-6)
            self.assertGreater(float(gatedcrf.gated_crf_loss(noisy, image, None, downscale=downscale)), 1e-3)

    def test_gradient_is_finite(self):
        torch.manual_seed(3)
        logits = torch.randn(2, 4, 36, 52, requires_grad=True)
        image = torch.rand(2, 3, 36, 52) * 255
        image[1] = 0.0  # a black image: colour differences of zero
        loss = gatedcrf.gated_crf_loss(logits.softmax(1), image, downscale=4)
        loss.backward()
        self.assertTrue(torch.isfinite(loss))
        self.assertTrue(torch.isfinite(logits.grad).all())
        self.assertGreater(float(logits.grad.abs().sum()), 0.0)

    def test_odd_sizes(self):
        torch.manual_seed(4)
        for height, width, downscale, radius in ((37, 23, 4, 5), (5, 3, 4, 5), (9, 11, 1, 3), (1, 1, 4, 2)):
            logits = torch.randn(1, 3, height, width, requires_grad=True)
            image = torch.rand(1, 3, height, width) * 255
            loss = gatedcrf.gated_crf_loss(logits.softmax(1), image, radius=radius, downscale=downscale)
            loss.backward()
            self.assertTrue(torch.isfinite(loss), (height, width))
            self.assertTrue(torch.isfinite(logits.grad).all(), (height, width))
            constant = one_hot(torch.ones((1, height, width), dtype=torch.long), 3)
            self.assertLess(float(gatedcrf.gated_crf_loss(constant, image, radius=radius, downscale=downscale)), 1e-6)

    def test_shape_mismatch_is_an_error(self):
        with self.assertRaises(ValueError):
            gatedcrf.gated_crf_loss(torch.rand(1, 2, 8, 8), torch.rand(1, 3, 8, 9))


class SegmentationLossTest(unittest.TestCase):
    PARAMS = {"regularizer": "gatedcrf", "regularizerWeight": 0.1, "gatedcrfRadius": 5,
              "gatedcrfSxy": 6.0, "gatedcrfSrgb": 6.0, "gatedcrfDownscale": 4}

    def test_total_is_ce_plus_weighted_crf(self):
        torch.manual_seed(5)
        logits = torch.randn(2, 3, 32, 32, requires_grad=True)
        raw, y, gate = segmentation.pad_uint8([torch.randint(0, 256, (3, 30, 27), dtype=torch.uint8)] * 2,
                                              [torch.randint(0, 3, (30, 27))] * 2)
        self.assertEqual(tuple(raw.shape), (2, 3, 32, 32))
        self.assertEqual(float(gate.sum()), 2 * 30 * 27)
        total, ce, crf = segmentation.segmentation_loss(logits, y, raw, gate, self.PARAMS)
        self.assertAlmostEqual(total.item(), ce.item() + 0.1 * crf.item(), places=5)
        self.assertAlmostEqual(ce.item(), F.cross_entropy(logits, y, ignore_index=255).item(), places=6)
        plain, _, none = segmentation.segmentation_loss(logits, y, raw, gate, {**self.PARAMS, "regularizer": "none"})
        self.assertIsNone(none)
        self.assertEqual(plain.item(), ce.item())

    def test_nothing_labelled_is_zero_not_nan(self):
        logits = torch.randn(1, 3, 16, 16, requires_grad=True)
        y = torch.full((1, 16, 16), 255, dtype=torch.long)
        total, ce, _ = segmentation.segmentation_loss(logits, y)
        total.backward()
        self.assertEqual(ce.item(), 0.0)
        self.assertTrue(torch.isfinite(logits.grad).all())


if __name__ == "__main__":
    unittest.main()
