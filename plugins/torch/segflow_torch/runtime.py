"""Process-wide settings every stage shares: device, threads, seeds, determinism, saving.

Reproducibility is a contract of the engine (same inputs -> same bytes), so a stage
seeds every generator it uses, runs with a fixed number of threads and no data-loader
workers, and saves weights in a byte-stable way.
"""

import hashlib
import io
import json
import os
import random

import numpy as np
import torch

from .protocol import StageError, log


def setup(request, params):
    """Apply threads, seed and determinism from the request; return (device, seed)."""
    threads = int(request.get("threads") or 0)
    if threads > 0:
        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(threads)
        except RuntimeError:
            pass  # only settable before the first parallel work; harmless when repeated
    seed = effective_seed(request, params)
    seed_everything(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    if torch.backends.cudnn.is_available():
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    return pick_device(request.get("device", "auto")), seed


def effective_seed(request, params):
    """The stage's `seed` param; -1 (its default) means the pipeline's request seed."""
    seed = int(params.get("seed", -1))
    if seed < 0:
        seed = int(request.get("seed") or 0)
    return seed


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)


def pick_device(name):
    """`auto` -> cuda when available, else cpu; `cuda` without a GPU is an error."""
    name = (name or "auto").lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise StageError(f"device '{name}' was requested but CUDA is not available")
    if name.startswith("mps") and not torch.backends.mps.is_available():
        raise StageError("device 'mps' was requested but MPS is not available")
    return torch.device(name)


def save_state_dict(model, path):
    """Save a CPU state_dict with sorted keys so equal weights give equal bytes.

    Checked with torch 2.15: torch.save writes a zip whose records all carry the fixed
    1980-01-01 timestamp, and its `.data/serialization_id` is derived from the records,
    not random; saving into a BytesIO names the archive folder `archive` whatever the
    file is called. So the bytes depend only on the tensors and the key order. Keys are
    sorted and tensors cloned to contiguous CPU memory so the device or storage sharing
    cannot change the pickle. Returns the file's SHA-256.
    """
    state = model.state_dict()
    clean = {key: state[key].detach().to("cpu").contiguous().clone() for key in sorted(state)}
    buffer = io.BytesIO()
    torch.save(clean, buffer, _use_new_zipfile_serialization=True)
    data = buffer.getvalue()
    with open(path, "wb") as handle:
        handle.write(data)
    return hashlib.sha256(data).hexdigest()


def load_state_dict(path, device):
    """Load weights written by save_state_dict (tensors only, so weights_only is safe)."""
    return torch.load(path, map_location=device, weights_only=True)


def write_json(path, value):
    """Stable JSON: sorted keys, fixed separators, trailing newline."""
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(value, handle, indent=2, sort_keys=True, allow_nan=False)
        handle.write("\n")


def round_metrics(metrics, digits=6):
    """Rounded floats keep meta.json readable; NaN (undefined score) becomes None."""
    out = {}
    for key, value in metrics.items():
        if value is None:
            out[key] = None
        elif isinstance(value, float) or hasattr(value, "item"):
            value = float(value)
            out[key] = None if value != value else round(value, digits)
        else:
            out[key] = value
    return out


def hub_checkpoint(filename, what):
    """Path of a file in the torch hub cache, or a clear error (we never download)."""
    folder = os.path.join(torch.hub.get_dir(), "checkpoints")
    path = os.path.join(folder, filename)
    if not os.path.isfile(path):
        raise StageError(
            f"ImageNet weights for {what} are not in {folder} ({filename}); "
            "run with network once or set pretrained: none")
    log(f"using ImageNet weights {path}")
    return path
