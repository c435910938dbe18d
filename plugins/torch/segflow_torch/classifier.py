"""classifierTrain: a multi-label ResNet on image-level labels, and loading it back.

The model is a torchvision ResNet whose `fc` is replaced by a linear head with one output
per pipeline class; global average pooling + linear head is what makes CAM well defined.

Image size: `imageSize` is the short side. Every image is resized once so its short side
is `imageSize` (aspect kept); validation and CAM inference run on that. Training takes
random resized square crops (imageSize x imageSize, scale 0.5-1) with random horizontal
flips from it. All randomness comes from the seeded global torch generator and there are
no loader workers, so a run is reproducible bit for bit on one machine.
"""

import json
import os

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torchvision.transforms import RandomResizedCrop
from torchvision.transforms import functional as TF

from . import data, metrics, runtime
from .protocol import StageError, log, progress

BACKBONES = ("resnet18", "resnet34", "resnet50")
ARCH = "resnet-multilabel"


def build(backbone, num_classes, pretrained="none"):
    """A torchvision ResNet with a fresh `num_classes` head; ImageNet weights only from disk."""
    if backbone not in BACKBONES:
        raise StageError(f"unknown backbone {backbone!r}; choose one of {', '.join(BACKBONES)}")
    model = getattr(torchvision.models, backbone)(weights=None)
    if pretrained == "imagenet":
        weights = torchvision.models.get_model_weights(backbone).IMAGENET1K_V1
        path = runtime.hub_checkpoint(os.path.basename(weights.url), backbone)
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    elif pretrained != "none":
        raise StageError(f"pretrained must be none or imagenet, not {pretrained!r}")
    model.fc = torch.nn.Linear(model.fc.in_features, num_classes)
    return model


def features(model, x):
    """The last conv block's output (what the pool and the head see)."""
    x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    return model.layer4(model.layer3(model.layer2(model.layer1(x))))


def load(request, device):
    """Model and meta.json from the request's `model` input, ready for inference."""
    model_path, meta_path = data.whole(request, "model", ["model.pt", "meta.json"])
    with open(meta_path, encoding="utf-8") as handle:
        meta = json.load(handle)
    if meta.get("arch") != ARCH:
        raise StageError(f"model input is a {meta.get('arch')!r} model, not a classifier from classifierTrain")
    model = build(meta["backbone"], len(meta["classes"]))
    model.load_state_dict(runtime.load_state_dict(model_path, "cpu"))
    return model.to(device).eval(), meta


def train(request, params):
    device, seed = runtime.setup(request, params)
    class_list = data.classes(request)
    names = [c["name"] for c in class_list]
    images = data.by_stem(data.port(request, "images"))
    labels = data.by_stem(data.port(request, "labels"))
    stems = data.items(request, images)
    missing = [s for s in stems if s not in labels]
    if missing:
        raise StageError(f"no labels for {len(missing)} image(s), e.g. '{missing[0]}'")

    model = build(params["backbone"], len(names), params["pretrained"]).to(device)  # fails fast on missing weights
    size = int(params["imageSize"])
    progress(0, int(params["epochs"]), "loading images")
    pixels, targets = {}, {}
    for stem in stems:
        image = data.read_rgb(images[stem])
        image = image.resize(data.short_side_size(*image.size, size), data.BILINEAR)
        pixels[stem] = data.to_uint8_tensor(image)
        targets[stem] = data.read_label_vector(labels[stem], names, stem)
    train_stems, val_stems = data.split(stems, params["valFraction"])
    log(f"{len(train_stems)} training and {len(val_stems)} validation images, {len(names)} classes, device {device}")

    frozen = params["freeze"] == "backbone"
    if frozen:
        for name, parameter in model.named_parameters():
            parameter.requires_grad = name.startswith("fc.")
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.Adam(trainable, lr=float(params["lr"]), weight_decay=float(params["weightDecay"]))
    crop = RandomResizedCrop((size, size), scale=(0.5, 1.0))

    epochs, batch = int(params["epochs"]), int(params["batch"])
    history = []
    for epoch in range(epochs):
        model.train()
        if frozen:  # a frozen backbone keeps its batch-norm statistics too
            for name, module in model.named_modules():
                if name and not name.startswith("fc"):
                    module.eval()
        order = torch.randperm(len(train_stems)).tolist()
        total, count = 0.0, 0
        for chunk in data.batches([train_stems[i] for i in order], batch):
            x = torch.stack([augment(pixels[s], crop) for s in chunk]).to(device)
            y = torch.from_numpy(np.stack([targets[s] for s in chunk])).to(device)
            loss = F.binary_cross_entropy_with_logits(model(data.normalise(x)), y)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total += loss.item() * len(chunk)
            count += len(chunk)
        scores = evaluate(model, val_stems, pixels, targets, device, batch)
        history.append(total / max(count, 1))
        progress(epoch + 1, epochs, f"epoch {epoch + 1}/{epochs} loss {history[-1]:.4f} "
                                    f"val mAP {scores['map']:.4f} F1 {scores['f1']:.4f}")

    train_scores = evaluate(model, train_stems, pixels, targets, device, batch)
    found = {"train_loss": history[-1] if history else float("nan"),
             "train_items": len(train_stems), "val_items": len(val_stems)}
    for prefix, scores in (("train", train_scores), ("val", scores)):
        for key, value in scores.items():
            found[f"{prefix}_{key}"] = value
    found = runtime.round_metrics(found)

    out = data.output_dir(request, "model")
    digest = runtime.save_state_dict(model, os.path.join(out, "model.pt"))
    runtime.write_json(os.path.join(out, "meta.json"), {
        "arch": ARCH, "backbone": params["backbone"], "pretrained": params["pretrained"],
        "freeze": params["freeze"], "classes": class_list, "imageSize": size,
        "imageSizeMeaning": "short side", "mean": list(data.IMAGENET_MEAN), "std": list(data.IMAGENET_STD),
        "epochs": epochs, "seed": seed, "metrics": found,
    })
    log(f"model.pt sha256 {digest}")
    return found


def augment(image, crop):
    """Random resized square crop + random horizontal flip of a uint8 (3, H, W) tensor."""
    top, left, height, width = crop.get_params(image, crop.scale, crop.ratio)
    image = TF.resized_crop(image, top, left, height, width, list(crop.size), antialias=True)
    if torch.rand(1).item() < 0.5:
        image = image.flip(-1)
    return image


@torch.no_grad()
def evaluate(model, stems, pixels, targets, device, batch):
    """mAP / F1 of the model on whole (resized, unaugmented) images."""
    if not stems:
        return metrics.multilabel_scores(np.zeros((0, 0)), np.zeros((0, 0)))
    model.eval()
    probs = {}
    by_shape = {}
    for stem in stems:  # images of one size share a batch
        by_shape.setdefault(tuple(pixels[stem].shape), []).append(stem)
    for group in by_shape.values():
        for chunk in data.batches(group, batch):
            x = data.normalise(torch.stack([pixels[s] for s in chunk]).to(device))
            for stem, row in zip(chunk, torch.sigmoid(model(x)).cpu().numpy()):
                probs[stem] = row
    return metrics.multilabel_scores(np.stack([probs[s] for s in stems]), np.stack([targets[s] for s in stems]))
