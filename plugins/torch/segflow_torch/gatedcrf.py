"""Gated CRF loss (Obukhov et al. 2019, "Gated CRF Loss for Weakly Supervised Semantic
Image Segmentation", arXiv:1906.04651), written for segflow's trainers.

For every pixel i of a reduced-resolution grid and every neighbour j in its
(2r+1)x(2r+1) window (j != i):

    loss = sum_ij  K_ij * gate_i * gate_j * (1 - sum_c y_i^c y_j^c)  /  sum_i gate_i

with the Potts compatibility, y the softmax probabilities and K a Gaussian over position
and colour,

    K_ij = exp(-|p_i - p_j|^2 / (2 sxy^2) - |rgb_i - rgb_j|^2 / (2 srgb^2)).

The gate is 1 on image pixels and 0 on padding, so neither padded nor missing (outside
the image) neighbours pull on a pixel; the denominator counts the gated-in pixels, as the
reference's source mask does. Like the reference (which applies the loss to DeepLab's
stride-4 logits), everything runs on a grid `downscale` times smaller than the training
image: the probabilities, the image and the gate are area-averaged onto it, and a grid
cell only partly on the image is gated out. `radius` and `sxy` are in grid cells. The
kernel depends only on the image, so it is built without autograd; only the probabilities
carry gradients.

Differences from the reference implementation (LEONOB2014/GatedCRFLoss,
models/model_loss_semseg_gatedcrf.py): colours are 8-bit levels of the unnormalised image
(the reference divides the ImageNet-normalised image by its sigma, so its rgb 0.1 is
0.1 x 255 x std = 5.7-5.8 levels here, per channel); the gate applies to both ends of a
pair (the reference's mask_src and mask_dst, set to one mask); sizes need not divide by
`downscale` (adaptive area pooling); and instead of unfolding the probabilities into a
(N, C, (2r+1)^2, h, w) tensor, the sum runs over the window offsets as shifted slices,
each unordered pair once (K and the Potts term are symmetric): the same value, about 8x
faster on CPU at the default sizes (tests/test_gatedcrf.py checks it against the unfold
form).
"""

import torch
import torch.nn.functional as F


def grid_size(height, width, downscale):
    """(h, w) of the loss grid for a (height, width) image."""
    return max(1, int(round(height / downscale))), max(1, int(round(width / downscale)))


def half_window(radius, height, width):
    """Window offsets (dy, dx) that hold one of each pair of neighbours, with the slices
    (rows, columns) of the pixels i and of their neighbours j = i + (dy, dx)."""
    found = []
    for dy in range(0, min(radius, height - 1) + 1):
        for dx in range(-min(radius, width - 1), min(radius, width - 1) + 1):
            if dy == 0 and dx <= 0:
                continue
            first = (slice(0, height - dy), slice(max(0, -dx), width - max(0, dx)))
            second = (slice(dy, height), slice(max(0, dx), width - max(0, -dx)))
            found.append((dy, dx, first, second))
    return found


def kernel(image, gate, offsets, sxy, srgb):
    """Gated affinities K_ij * gate_i * gate_j, one (N, h', w') map per offset.

    `image`: (N, 3, h, w) colours in 8-bit levels; `gate`: (N, 1, h, w) of 0/1."""
    maps = []
    for dy, dx, (ri, ci), (rj, cj) in offsets:
        colour = ((image[:, :, ri, ci] - image[:, :, rj, cj]) ** 2).sum(1)
        affinity = torch.exp(-(dx * dx + dy * dy) / (2.0 * sxy ** 2) - colour / (2.0 * srgb ** 2))
        maps.append(affinity * gate[:, 0, ri, ci] * gate[:, 0, rj, cj])
    return maps


def gated_crf_loss(probs, image, gate=None, radius=5, sxy=6.0, srgb=6.0, downscale=4):
    """The Gated CRF loss of softmax `probs` (N, C, H, W) given `image` (N, 3, H, W).

    `image` holds unnormalised colours in 8-bit levels (0-255), `gate` (N, 1, H, W) is 1
    on pixels to use and 0 on padding (None: all). Returns a scalar; 0 for a prediction
    that is constant inside every window."""
    if probs.dim() != 4 or image.shape[0] != probs.shape[0] or image.shape[2:] != probs.shape[2:]:
        raise ValueError(f"probs {tuple(probs.shape)} and image {tuple(image.shape)} must be NCHW of one size")
    n, _, height, width = probs.shape
    if gate is None:
        gate = torch.ones((n, 1, height, width), dtype=probs.dtype, device=probs.device)
    size = grid_size(height, width, downscale)
    if size != (height, width):
        probs = F.adaptive_avg_pool2d(probs, size)
    offsets = half_window(radius, *size)
    with torch.no_grad():
        image = image.to(probs.dtype)
        gate = gate.to(probs.dtype)
        if size != (height, width):
            image = F.adaptive_avg_pool2d(image, size)
            gate = (F.adaptive_avg_pool2d(gate, size) > 0.999).to(probs.dtype)  # partly padding: out
        maps = kernel(image, gate, offsets, sxy, srgb)
    total = probs.sum() * 0.0  # keeps the graph when the grid is too small for any pair
    for (_, _, (ri, ci), (rj, cj)), affinity in zip(offsets, maps):
        agreement = (probs[:, :, ri, ci] * probs[:, :, rj, cj]).sum(1)
        total = total + (affinity * (1.0 - agreement)).sum()
    return 2.0 * total / gate.sum().clamp(min=1.0)
