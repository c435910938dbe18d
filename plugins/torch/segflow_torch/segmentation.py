"""unetTrain, deeplabTrain, predict: semantic segmentation with segmentation_models_pytorch.

Both trainers default to a resnet18 encoder so that CPU runs stay practical (DeepLabV3+
is usually paired with resnet50/101; pass `encoder: resnet50` on a GPU).

Size: `height` and `width` (both > 0) fix the training/inference size; otherwise every
image is scaled by `scale` (aspect kept). Batches are padded to multiples of 16 (DeepLabV3+
needs it, Unet is padded too to be safe) with ignored mask pixels, and outputs are cropped
back. Masks hold class ids; the dataset's ignore id and 255 become ignore (255), and id ->
channel is the id's position in the request's classes.

The `masks` input takes dense Masks or sparse Scribbles (same PNG format, mostly 255):
the loss is cross-entropy over the labelled pixels only (partial cross-entropy; a batch
without any labelled pixel adds nothing), and validation mIoU / pixel accuracy count only
the labelled pixels too, which the log says and `val_labelled_fraction` quantifies.
`regularizer: gatedcrf` adds regularizerWeight x the Gated CRF loss (gatedcrf.py) on the
softmax output, computed on a grid gatedcrfDownscale times smaller than the batch.
"""

import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # smp must never reach the hub at run time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

import segmentation_models_pytorch as smp

from . import data, gatedcrf, metrics, runtime
from .protocol import StageError, log, progress

ARCHS = {"unetTrain": "unet", "deeplabTrain": "deeplabv3plus"}
MULTIPLE = 16
SPARSE = 0.5  # below this share of labelled pixels the masks are called sparse in the log
LOSS_PARAMS = ("regularizer", "regularizerWeight", "gatedcrfRadius", "gatedcrfSxy", "gatedcrfSrgb", "gatedcrfDownscale")


def build(arch, encoder, num_classes, weights="none"):
    """An smp model; `weights: imagenet` only from the local Hugging Face cache."""
    cls = {"unet": smp.Unet, "deeplabv3plus": smp.DeepLabV3Plus}[arch]
    if weights not in ("none", "imagenet"):
        raise StageError(f"encoderWeights must be none or imagenet, not {weights!r}")
    try:
        return cls(encoder_name=encoder, encoder_weights=None if weights == "none" else "imagenet",
                   in_channels=3, classes=num_classes)
    except KeyError as exc:
        raise StageError(f"unknown encoder {encoder!r}: {exc}") from None
    except Exception as exc:  # offline hub miss: huggingface_hub's LocalEntryNotFoundError & co.
        if weights == "imagenet" and "huggingface" in type(exc).__module__:
            raise StageError(
                f"ImageNet weights for encoder {encoder} are not in the Hugging Face cache "
                f"({os.environ.get('HF_HOME', '~/.cache/huggingface')}); run with network once "
                "or set encoderWeights: none") from None
        raise


def target_size(width, height, params):
    """(width, height) to train or predict at, from height/width or scale."""
    if int(params.get("height", 0)) > 0 and int(params.get("width", 0)) > 0:
        return int(params["width"]), int(params["height"])
    scale = float(params.get("scale", 1.0))
    if scale <= 0:
        raise StageError("scale must be > 0 (or set both height and width)")
    return max(1, int(round(width * scale))), max(1, int(round(height * scale)))


def pad_uint8(images, masks=None):
    """Stack uint8 (3,H,W) images (and masks) padded bottom/right to a multiple of 16.

    Returns the uint8 batch, the masks (padding = ignore) and a (B,1,H,W) float gate that
    is 1 on image pixels and 0 on padding."""
    height = max(i.shape[1] for i in images)
    width = max(i.shape[2] for i in images)
    height, width = -(-height // MULTIPLE) * MULTIPLE, -(-width // MULTIPLE) * MULTIPLE
    x = torch.zeros((len(images), 3, height, width), dtype=torch.uint8)
    gate = torch.zeros((len(images), 1, height, width), dtype=torch.float32)
    y = torch.full((len(images), height, width), data.IGNORE, dtype=torch.long) if masks else None
    for i, image in enumerate(images):
        x[i, :, :image.shape[1], :image.shape[2]] = image
        gate[i, :, :image.shape[1], :image.shape[2]] = 1.0
        if masks:
            y[i, :masks[i].shape[0], :masks[i].shape[1]] = masks[i]
    return x, y, gate


def pad_batch(images, masks=None):
    """`pad_uint8`'s images normalised for the model, and the masks."""
    x, y, _ = pad_uint8(images, masks)
    return data.normalise(x), y


def segmentation_loss(logits, y, raw=None, gate=None, params=None):
    """(total, cross-entropy, gated CRF or None) of one batch.

    Cross-entropy over labelled pixels only (0 with gradient when none is labelled: the
    mean over nothing would be NaN); with `regularizer: gatedcrf`, plus
    regularizerWeight x the Gated CRF loss of the softmax on `raw` (uint8 image batch)."""
    if bool((y != data.IGNORE).any()):
        ce = F.cross_entropy(logits, y, ignore_index=data.IGNORE)
    else:
        ce = logits.sum() * 0.0
    if not params or params.get("regularizer", "none") == "none":
        return ce, ce, None
    crf = gatedcrf.gated_crf_loss(
        logits.softmax(1), raw.float(), gate, radius=int(params["gatedcrfRadius"]),
        sxy=float(params["gatedcrfSxy"]), srgb=float(params["gatedcrfSrgb"]),
        downscale=int(params["gatedcrfDownscale"]))
    return ce + float(params["regularizerWeight"]) * crf, ce, crf


def train(request, params):
    stage = request["stage"]
    arch = ARCHS[stage]
    device, seed = runtime.setup(request, params)
    class_list = data.classes(request)
    lut = data.mask_lut(class_list, request.get("ignore"))
    images = data.by_stem(data.port(request, "images"))
    masks = data.by_stem(data.port(request, "masks"))
    stems = data.items(request, images)
    missing = [s for s in stems if s not in masks]
    if missing:
        raise StageError(f"no mask for {len(missing)} image(s), e.g. '{missing[0]}'")

    model = build(arch, params["encoder"], len(class_list), params["encoderWeights"]).to(device)  # fails fast
    epochs, batch = int(params["epochs"]), int(params["batch"])
    progress(0, epochs, "loading images and masks")
    pixels, labels = {}, {}
    for stem in stems:
        image = data.read_rgb(images[stem])
        size = target_size(*image.size, params)
        pixels[stem] = data.to_uint8_tensor(image.resize(size, data.BILINEAR))
        labels[stem] = torch.from_numpy(data.read_mask(masks[stem], lut, size).astype(np.int64))
    train_stems, val_stems = data.split(stems, params["valFraction"])
    if arch == "deeplabv3plus" and len(train_stems) < 2:
        raise StageError("deeplabTrain needs at least 2 training images (its pooling branch has batch norm)")
    log(f"{arch}-{params['encoder']}: {len(train_stems)} training and {len(val_stems)} validation images, device {device}")
    train_share, val_share = labelled_fraction(labels, train_stems), labelled_fraction(labels, val_stems)
    if min(train_share, val_share if val_stems else 1.0) < SPARSE:
        log(f"sparse masks (e.g. scribbles): {train_share:.1%} of training and {val_share:.1%} of validation "
            "pixels are labelled; the loss is partial cross-entropy and val mIoU / pixel accuracy count "
            "only the labelled pixels")
    if params["regularizer"] == "gatedcrf":
        log(f"regularizer gatedcrf: weight {params['regularizerWeight']}, radius {params['gatedcrfRadius']}, "
            f"sxy {params['gatedcrfSxy']}, srgb {params['gatedcrfSrgb']} on a 1/{params['gatedcrfDownscale']} grid")

    optimiser = torch.optim.Adam(model.parameters(), lr=float(params["lr"]), weight_decay=float(params["weightDecay"]))
    history, scores = [], evaluate(model, [], pixels, labels, len(class_list), device, batch)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(train_stems)).tolist()
        chunks = list(data.batches([train_stems[i] for i in order], batch))
        if len(chunks) > 1 and len(chunks[-1]) == 1:  # batch norm cannot train on one sample
            chunks[-2] = chunks[-2] + chunks.pop()
        sums, count = np.zeros(3), 0
        for chunk in chunks:
            flips = (torch.rand(len(chunk)) < 0.5).tolist()
            raw, y, gate = pad_uint8([pixels[s].flip(-1) if f else pixels[s] for s, f in zip(chunk, flips)],
                                     [labels[s].flip(-1) if f else labels[s] for s, f in zip(chunk, flips)])
            raw = raw.to(device)
            loss, ce, crf = segmentation_loss(model(data.normalise(raw)), y.to(device), raw, gate.to(device), params)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            sums += np.array([loss.item(), ce.item(), crf.item() if crf is not None else 0.0]) * len(chunk)
            count += len(chunk)
        history.append(sums / max(count, 1))
        scores = evaluate(model, val_stems, pixels, labels, len(class_list), device, batch)
        progress(epoch + 1, epochs, f"epoch {epoch + 1}/{epochs} loss {history[-1][0]:.4f} "
                                    f"val mIoU {scores['miou']:.4f}{' (labelled px)' if val_share < SPARSE else ''}")

    last = history[-1] if history else np.full(3, np.nan)
    found = {"train_loss": last[0], "val_miou": scores["miou"],
             "val_pixel_acc": scores["pixel_acc"], "train_items": len(train_stems), "val_items": len(val_stems),
             "train_labelled_fraction": train_share, "val_labelled_fraction": val_share}
    if params["regularizer"] == "gatedcrf":
        found.update(train_ce=last[1], train_gatedcrf=last[2])
    for entry, iou in zip(class_list, scores["iou"]):
        found[f"val_iou_{entry['name']}"] = float(iou)
    found = runtime.round_metrics(found)
    out = data.output_dir(request, "model")
    digest = runtime.save_state_dict(model, os.path.join(out, "model.pt"))
    runtime.write_json(os.path.join(out, "meta.json"), {
        "arch": arch, "encoder": params["encoder"], "encoderWeights": params["encoderWeights"],
        "classes": class_list, "ignore": request.get("ignore"),
        "height": int(params["height"]), "width": int(params["width"]), "scale": float(params["scale"]),
        "mean": list(data.IMAGENET_MEAN), "std": list(data.IMAGENET_STD),
        "epochs": epochs, "seed": seed, "metrics": found,
        "loss": {name: params[name] for name in LOSS_PARAMS},
    })
    log(f"model.pt sha256 {digest}")
    return found


def labelled_fraction(labels, stems):
    """Share of the pixels of `stems` that carry a label (NaN for no stems)."""
    labelled = sum(int((labels[s] != data.IGNORE).sum()) for s in stems)
    total = sum(labels[s].numel() for s in stems)
    return labelled / total if total else float("nan")


@torch.no_grad()
def evaluate(model, stems, pixels, labels, num_classes, device, batch):
    """Confusion-matrix scores over the labelled pixels of `stems` at the training resolution."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    model.eval()
    by_shape = {}
    for stem in stems:
        by_shape.setdefault(tuple(pixels[stem].shape), []).append(stem)
    for group in by_shape.values():
        for chunk in data.batches(group, batch):
            x, _ = pad_batch([pixels[s] for s in chunk])
            logits = model(x.to(device))
            for stem, row in zip(chunk, logits.argmax(1).cpu()):
                truth = labels[stem]
                pred = row[:truth.shape[0], :truth.shape[1]]
                matrix += metrics.confusion(pred.numpy(), truth.numpy(), num_classes)
    return metrics.segmentation_scores(matrix)


def load(request, device):
    model_path, meta_path = data.whole(request, "model", ["model.pt", "meta.json"])
    with open(meta_path, encoding="utf-8") as handle:
        meta = json.load(handle)
    if meta.get("arch") not in ARCHS.values():
        raise StageError(f"model input is a {meta.get('arch')!r} model, not one from unetTrain or deeplabTrain")
    model = build(meta["arch"], meta["encoder"], len(meta["classes"]))
    model.load_state_dict(runtime.load_state_dict(model_path, "cpu"))
    return model.to(device).eval(), meta


@torch.no_grad()
def predict(request, params):
    """Masks of class ids at each image's original resolution (logits upsampled, then argmax)."""
    device, _ = runtime.setup(request, params)
    images = data.by_stem(data.port(request, "images"))
    stems = data.items(request, images)
    model, meta = load(request, device)
    if any(not 0 <= c["id"] <= 254 for c in meta["classes"]):
        raise StageError("class ids must be 0-254 to fit an 8-bit mask")
    ids = np.array([c["id"] for c in meta["classes"]], dtype=np.uint8)
    if [c["name"] for c in meta["classes"]] != [c["name"] for c in data.classes(request)]:
        log("the model's classes differ from the request's: masks use the model's class ids")
    out = data.output_dir(request, "masks")
    step = max(1, len(stems) // 100)
    for done, stem in enumerate(stems, 1):
        image = data.read_rgb(images[stem])
        width, height = image.size
        small = data.to_uint8_tensor(image.resize(target_size(width, height, meta), data.BILINEAR))
        x, _ = pad_batch([small])
        logits = model(x.to(device))[:, :, :small.shape[1], :small.shape[2]]
        logits = F.interpolate(logits, size=(height, width), mode="bilinear", align_corners=False)
        channels = logits[0].argmax(0).cpu().numpy()
        Image.fromarray(ids[channels]).save(os.path.join(out, f"{stem}.png"))
        if done % step == 0 or done == len(stems):
            progress(done, len(stems), stem)
    return {"items": len(stems)}
