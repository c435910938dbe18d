"""unetTrain, deeplabTrain, predict: semantic segmentation with segmentation_models_pytorch.

Both trainers default to a resnet18 encoder so that CPU runs stay practical (DeepLabV3+
is usually paired with resnet50/101; pass `encoder: resnet50` on a GPU).

Size: `height` and `width` (both > 0) fix the training/inference size; otherwise every
image is scaled by `scale` (aspect kept). Batches are padded to multiples of 16 (DeepLabV3+
needs it, Unet is padded too to be safe) with ignored mask pixels, and outputs are cropped
back. Masks hold class ids; the dataset's ignore id and 255 become ignore (255), and id ->
channel is the id's position in the request's classes. Loss: cross-entropy, ignore 255.
"""

import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # smp must never reach the hub at run time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

import segmentation_models_pytorch as smp

from . import data, metrics, runtime
from .protocol import StageError, log, progress

ARCHS = {"unetTrain": "unet", "deeplabTrain": "deeplabv3plus"}
MULTIPLE = 16


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


def pad_batch(images, masks=None):
    """Stack uint8 (3,H,W) images (and masks) padded bottom/right to a multiple of 16."""
    height = max(i.shape[1] for i in images)
    width = max(i.shape[2] for i in images)
    height, width = -(-height // MULTIPLE) * MULTIPLE, -(-width // MULTIPLE) * MULTIPLE
    x = torch.zeros((len(images), 3, height, width), dtype=torch.uint8)
    y = torch.full((len(images), height, width), data.IGNORE, dtype=torch.long) if masks else None
    for i, image in enumerate(images):
        x[i, :, :image.shape[1], :image.shape[2]] = image
        if masks:
            y[i, :masks[i].shape[0], :masks[i].shape[1]] = masks[i]
    return data.normalise(x), y


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

    optimiser = torch.optim.Adam(model.parameters(), lr=float(params["lr"]), weight_decay=float(params["weightDecay"]))
    history, scores = [], evaluate(model, [], pixels, labels, len(class_list), device, batch)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(train_stems)).tolist()
        chunks = list(data.batches([train_stems[i] for i in order], batch))
        if len(chunks) > 1 and len(chunks[-1]) == 1:  # batch norm cannot train on one sample
            chunks[-2] = chunks[-2] + chunks.pop()
        total, count = 0.0, 0
        for chunk in chunks:
            flips = (torch.rand(len(chunk)) < 0.5).tolist()
            x, y = pad_batch([pixels[s].flip(-1) if f else pixels[s] for s, f in zip(chunk, flips)],
                             [labels[s].flip(-1) if f else labels[s] for s, f in zip(chunk, flips)])
            loss = F.cross_entropy(model(x.to(device)), y.to(device), ignore_index=data.IGNORE)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total += loss.item() * len(chunk)
            count += len(chunk)
        history.append(total / max(count, 1))
        scores = evaluate(model, val_stems, pixels, labels, len(class_list), device, batch)
        progress(epoch + 1, epochs, f"epoch {epoch + 1}/{epochs} loss {history[-1]:.4f} val mIoU {scores['miou']:.4f}")

    found = {"train_loss": history[-1] if history else float("nan"), "val_miou": scores["miou"],
             "val_pixel_acc": scores["pixel_acc"], "train_items": len(train_stems), "val_items": len(val_stems)}
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
    })
    log(f"model.pt sha256 {digest}")
    return found


@torch.no_grad()
def evaluate(model, stems, pixels, labels, num_classes, device, batch):
    """Confusion-matrix scores over `stems` at the training resolution."""
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
