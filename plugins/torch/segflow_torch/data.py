"""Reading the engine's ports (docs/FORMATS.md) into arrays and tensors.

Input ports arrive as {file name: store path}; the file name carries the item's stem and
extension, the store path does not. Everything here is keyed by stem.
"""

import hashlib
import json
import os

import numpy as np
import torch
from PIL import Image

from .protocol import StageError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
IGNORE = 255
BILINEAR = Image.BILINEAR
NEAREST = Image.NEAREST


def port(request, name, required=True):
    """{stem: path} of an item-set input, or of a whole-set input's named files."""
    files = (request.get("inputs") or {}).get(name)
    if files is None:
        if required:
            raise StageError(f"stage '{request['stage']}' needs input '{name}', which the request lacks")
        return None
    if not isinstance(files, dict):
        raise StageError(f"input '{name}' must map file names to paths")
    return files


def by_stem(files):
    """{file name: path} -> {stem: path}; two files with one stem is an error."""
    stems = {}
    for filename, path in files.items():
        stem = os.path.splitext(filename)[0]
        if stem in stems:
            raise StageError(f"two files for item '{stem}'")
        stems[stem] = path
    return stems


def whole(request, name, filenames):
    """Paths of a whole-set input's named files (e.g. model.pt, meta.json)."""
    files = port(request, name)
    missing = [f for f in filenames if f not in files]
    if missing:
        raise StageError(f"input '{name}' lacks {', '.join(missing)}")
    return [files[f] for f in filenames]


def items(request, images):
    """Items to compute: the request's list (map stages: only the missing ones), else all."""
    wanted = request.get("items")
    if wanted is None:
        return sorted(images)
    missing = [stem for stem in wanted if stem not in images]
    if missing:
        raise StageError(f"no image for item(s) {', '.join(missing[:5])}")
    return list(wanted)


def classes(request):
    """The pipeline's classes in order: [{id, name}]; channel c is the c-th class."""
    found = request.get("classes")
    if not found:
        raise StageError("request has no classes")
    return [{"id": int(c["id"]), "name": str(c["name"])} for c in found]


def read_rgb(path):
    with Image.open(path) as image:
        return image.convert("RGB")


def read_label_vector(path, names, stem):
    """Labels JSON (list of class names present) -> multi-hot float32 vector."""
    with open(path, encoding="utf-8") as handle:
        present = json.load(handle)
    if not isinstance(present, list):
        raise StageError(f"labels of '{stem}' must be a JSON array of class names")
    index = {name: i for i, name in enumerate(names)}
    vector = np.zeros(len(names), dtype=np.float32)
    for name in present:
        if name not in index:
            raise StageError(f"labels of '{stem}' name unknown class {name!r}")
        vector[index[name]] = 1.0
    return vector


def mask_lut(class_list, ignore):
    """256-entry table: class id -> channel index; the dataset ignore id and unknown ids -> 255."""
    lut = np.full(256, IGNORE, dtype=np.uint8)
    for channel, entry in enumerate(class_list):
        if 0 <= entry["id"] < 255:
            lut[entry["id"]] = channel
    if ignore is not None and 0 <= int(ignore) <= 255:
        lut[int(ignore)] = IGNORE
    return lut


def read_mask(path, lut, size=None):
    """Mask or Scribbles PNG of class ids -> uint8 array of channel indices (255 = ignore).

    Scribbles (and other sparse labels) have the same format as Masks: a class id on
    labelled pixels, 255 (or the dataset's ignore id) elsewhere. `size` = (width, height)
    resizes with `resize_labels` (nearest neighbour, keeping sparse labels)."""
    with Image.open(path) as image:
        if image.mode not in ("L", "P", "I", "I;16"):
            raise StageError(f"mask {os.path.basename(path)} must be 8-bit grayscale, got mode {image.mode}")
        image = image.convert("L") if image.mode != "L" else image.copy()
    labels = lut[np.asarray(image, dtype=np.uint8)]
    if size is not None and image.size != tuple(size):
        labels = resize_labels(labels, size)
    return labels


def resize_labels(labels, size):
    """Channel indices (255 = unlabelled) resized to `size` = (width, height).

    Nearest neighbour; when shrinking, a pixel whose nearest source pixel is unlabelled
    takes the most common label of its footprint if that has any, so that sparse labels
    (scribbles, points) survive downscaling instead of being skipped over. On dense masks
    this only narrows unlabelled regions by at most one footprint."""
    width, height = size
    near = np.asarray(Image.fromarray(labels).resize((width, height), Image.NEAREST))
    holes = near == IGNORE
    present = [c for c in np.unique(labels).tolist() if c != IGNORE]
    if (width >= labels.shape[1] and height >= labels.shape[0]) or not present or not holes.any():
        return near
    onehot = torch.from_numpy(np.stack([labels == c for c in present]).astype(np.float32))
    share, best = torch.nn.functional.adaptive_avg_pool2d(onehot[None], (height, width))[0].max(0)
    take = holes & (share.numpy() > 0)
    out = near.copy()
    out[take] = np.asarray(present, dtype=np.uint8)[best.numpy()[take]]
    return out


def split(stems, fraction):
    """Deterministic train/val split: stems sorted by SHA-256, the first share is val.

    Independent of the seed and of the order items arrive in, so every run and every
    stage sees the same validation set. At least one item always stays in train."""
    ordered = sorted(stems, key=lambda s: hashlib.sha256(s.encode("utf-8")).hexdigest())
    count = int(round(len(ordered) * float(fraction)))
    count = max(0, min(count, len(ordered) - 1))
    val = set(ordered[:count])
    return [s for s in sorted(stems) if s not in val], [s for s in sorted(stems) if s in val]


def short_side_size(width, height, short):
    """(width, height) with the short side = `short`, aspect kept."""
    if short <= 0:
        return width, height
    if width <= height:
        return short, max(1, int(round(height * short / width)))
    return max(1, int(round(width * short / height))), short


def to_tensor(image, mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """PIL RGB -> normalised float32 tensor (3, H, W)."""
    array = np.asarray(image, dtype=np.float32) / 255.0
    tensor = torch.from_numpy(array.transpose(2, 0, 1).copy())
    mean = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1)
    std = torch.tensor(std, dtype=torch.float32).view(3, 1, 1)
    return (tensor - mean) / std


def to_uint8_tensor(image):
    """PIL RGB -> uint8 tensor (3, H, W): a compact form to keep a whole set in memory."""
    return torch.from_numpy(np.asarray(image, dtype=np.uint8).transpose(2, 0, 1).copy())


def normalise(batch_uint8, mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """uint8 (B, 3, H, W) -> normalised float32."""
    mean = torch.tensor(mean, dtype=torch.float32, device=batch_uint8.device).view(1, 3, 1, 1)
    std = torch.tensor(std, dtype=torch.float32, device=batch_uint8.device).view(1, 3, 1, 1)
    return (batch_uint8.float() / 255.0 - mean) / std


def output_dir(request, port_name):
    path = os.path.join(request["outputDir"], port_name)
    os.makedirs(path, exist_ok=True)
    return path


def batches(sequence, size):
    for start in range(0, len(sequence), size):
        yield sequence[start:start + size]
