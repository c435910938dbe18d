"""cam, gradcampp, hirescam: class activation maps from a classifierTrain model.

- cam: classic CAM (Zhou et al. 2016), the last conv block's features weighted by the
  head's weights for class c (no bias), computed directly.
- gradcampp / hirescam: pytorch-grad-cam's GradCAMPlusPlus / HiResCAM on `targetLayer`.

Raw maps. pytorch-grad-cam's `__call__` applies ReLU, min-max scales every map per image
and resizes it (`BaseCAM.compute_cam_per_layer` -> `scale_cam_image`, then again in
`aggregate_multi_layers`). We subclass both explainers and override those two methods
so they return the raw `get_cam_image` output (feature resolution, no ReLU, no scaling);
the library still does the forward pass, the targets, the backward pass and the weights.

Post-processing, the same for all three methods (the order IRN uses):
ReLU at feature resolution (skipped for `normalize: none`), bilinear upsampling to the
image's original size (align_corners=False), then per channel
- max:    divide by the channel's max (IRN); an all-zero channel stays zero;
- minmax: (x - min) / (max - min + 1e-7), i.e. what pytorch-grad-cam's scale_cam_image
          produces (min-max commutes with bilinear resizing, so scaling after the resize
          equals the library's scale-resize-scale);
- none:   the raw upsampled map (signed, unscaled).

For a ResNet (global average pool + linear head) the gradient of logit c w.r.t. layer4 is
w_c / (h*w) everywhere, so HiResCAM = CAM / (h*w): after `max` or `minmax` they agree.
"""

import os

import numpy as np
import torch
import torch.nn.functional as F
from pytorch_grad_cam import GradCAMPlusPlus, HiResCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

from . import classifier, data, runtime
from .protocol import StageError, log, progress


class _RawMaps:
    """Mixin for a pytorch-grad-cam explainer: `__call__` returns raw maps (B, h, w)."""

    def compute_cam_per_layer(self, input_tensor, targets, eigen_smooth):
        activations = [a.cpu().data.numpy() for a in self.activations_and_grads.activations]
        grads = [g.cpu().data.numpy() for g in self.activations_and_grads.gradients]
        return [self.get_cam_image(input_tensor, layer, targets, a, g, eigen_smooth)
                for layer, a, g in zip(self.target_layers, activations, grads)]

    def aggregate_multi_layers(self, cam_per_target_layer):
        if len(cam_per_target_layer) == 1:
            return np.float32(cam_per_target_layer[0])
        return np.float32(np.mean(np.stack(cam_per_target_layer, axis=1), axis=1))


class RawGradCAMPlusPlus(_RawMaps, GradCAMPlusPlus):
    pass


class RawHiResCAM(_RawMaps, HiResCAM):
    pass


CLASS_BATCH = 16  # classes per backward pass: bounds memory when many classes are labelled

EXPLAINERS = {"gradcampp": RawGradCAMPlusPlus, "hirescam": RawHiResCAM}


def target_layer(model, name):
    try:
        return model.get_submodule(name)
    except AttributeError:
        raise StageError(f"targetLayer {name!r} is not a module of the model (e.g. layer4, layer3, layer4.1)") from None


def make_raw(method, model, layer_name="layer4"):
    """A function (x: (1,3,h,w), heads: [int]) -> raw maps (len(heads), h', w') float32."""
    if method == "cam":
        @torch.no_grad()
        def classic(x, heads):
            weights = model.fc.weight[heads]                      # (k, channels)
            feats = classifier.features(model, x)[0]              # (channels, h, w)
            return torch.einsum("kc,chw->khw", weights, feats).float().cpu().numpy()
        return classic
    explainer = EXPLAINERS[method](model, [target_layer(model, layer_name)])

    def gradient_based(x, heads):
        """One copy of the image per class in a batch; at most CLASS_BATCH copies at a time."""
        maps = []
        for start in range(0, len(heads), CLASS_BATCH):
            group = heads[start:start + CLASS_BATCH]
            batch = x.expand(len(group), *x.shape[1:]).contiguous()
            maps.append(explainer(batch, [ClassifierOutputTarget(h) for h in group]))
        return np.concatenate(maps, axis=0)
    return gradient_based


def postprocess(raw, height, width, normalize):
    """Raw maps (k, h, w) -> (k, height, width) float32, per the module docstring."""
    maps = torch.from_numpy(np.ascontiguousarray(raw, dtype=np.float32))
    if normalize != "none":
        maps = maps.clamp_min(0)
    maps = F.interpolate(maps[None], size=(height, width), mode="bilinear", align_corners=False)[0]
    if normalize == "max":
        peak = maps.amax(dim=(1, 2), keepdim=True)
        maps = torch.where(peak > 0, maps / peak.clamp_min(1e-12), torch.zeros_like(maps))
    elif normalize == "minmax":
        low = maps.amin(dim=(1, 2), keepdim=True)
        maps = maps - low
        maps = maps / (maps.amax(dim=(1, 2), keepdim=True) + 1e-7)
    elif normalize != "none":
        raise StageError(f"normalize must be max, minmax or none, not {normalize!r}")
    return maps.numpy()


def run(request, params, method):
    device, _ = runtime.setup(request, params)
    names = [c["name"] for c in data.classes(request)]
    images = data.by_stem(data.port(request, "images"))
    labels = data.port(request, "labels", required=False)
    labels = data.by_stem(labels) if labels is not None else None
    stems = data.items(request, images)
    model, meta = classifier.load(request, device)

    heads = {c["name"]: i for i, c in enumerate(meta["classes"])}
    unknown = [n for n in names if n not in heads]
    if unknown:
        log(f"the model has no head for {', '.join(unknown)}: those channels stay zero")
    labelled = params["classes"] == "labelled" and labels is not None
    if params["classes"] == "labelled" and labels is None:
        log("classes: labelled without a labels input: computing every class")
    size = int(params["imageSize"]) or int(meta["imageSize"])
    raw_maps = make_raw(method, model, params.get("targetLayer", "layer4"))
    out = data.output_dir(request, "cams")

    step = max(1, len(stems) // 100)
    for done, stem in enumerate(stems, 1):
        image = data.read_rgb(images[stem])
        width, height = image.size
        if labelled:
            if stem not in labels:
                raise StageError(f"no labels for '{stem}' (classes: labelled)")
            present = data.read_label_vector(labels[stem], names, stem)
            channels = [c for c, name in enumerate(names) if present[c] and name in heads]
        else:
            channels = [c for c, name in enumerate(names) if name in heads]
        result = np.zeros((len(names), height, width), dtype=np.float32)
        if channels:
            small = image.resize(data.short_side_size(width, height, size), data.BILINEAR)
            x = data.to_tensor(small, meta["mean"], meta["std"])[None].to(device)
            raw = raw_maps(x, [heads[names[c]] for c in channels])
            result[channels] = postprocess(raw, height, width, params["normalize"])
        np.save(os.path.join(out, f"{stem}.npy"), np.ascontiguousarray(result, dtype="<f4"))
        if done % step == 0 or done == len(stems):
            progress(done, len(stems), stem)
    return {"items": len(stems)}


def run_cam(request, params):
    return run(request, params, "cam")


def run_gradcampp(request, params):
    return run(request, params, "gradcampp")


def run_hirescam(request, params):
    return run(request, params, "hirescam")
