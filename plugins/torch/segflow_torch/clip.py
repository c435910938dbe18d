"""clipLabel: zero-shot multi-label image labels from an open_clip model.

Each class's text embedding is the mean of its prompt templates' embeddings (CLIP's zero-shot
recipe, normalised before and after averaging); an image's score for a class comes from the
cosine similarity times the model's logit scale, by softmax over the classes (CLIP) or by a
sigmoid with the model's logit bias (SigLIP). A class is a label when its score is at least
`threshold`.

Weights come only from `checkpoint` (a local file) or open_clip's local caches (the Hugging Face
hub cache, ~/.cache/clip); nothing is ever downloaded: the hub is forced offline and the cache
is looked up here, before open_clip could try the network.
"""

import json
import os
import shutil
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before huggingface_hub is imported by open_clip

import open_clip  # noqa: E402
import torch  # noqa: E402

from . import data, runtime  # noqa: E402
from .protocol import StageError, log, progress  # noqa: E402


def run(request, params):
    device, _ = runtime.setup(request, params)
    class_list = data.classes(request)
    images = data.by_stem(data.port(request, "images"))
    stems = data.items(request, images)
    templates = params["templates"]
    if not templates or any("{}" not in t for t in templates):
        raise StageError("every template needs '{}' where the class name goes, e.g. 'a photo of {}.'; "
                         f"got {templates!r}")
    model, preprocess, tokenizer = load(params, device)
    if params["scoring"] == "sigmoid" and getattr(model, "logit_bias", None) is None:
        raise StageError(f"scoring: sigmoid needs a model with a logit bias (SigLIP); {params['model']} has none: "
                         "use scoring: softmax")
    names = [c["name"] for c in class_list]
    with torch.no_grad():
        text = class_embeddings(model, tokenizer, names, templates, device)
        scale = model.logit_scale.exp()
        bias = model.logit_bias if params["scoring"] == "sigmoid" else None
        labels_dir, scores_dir = data.output_dir(request, "labels"), data.output_dir(request, "scores")
        done, labelled = 0, 0
        for chunk in data.batches(stems, params["batch"]):
            batch = torch.stack([preprocess(data.read_rgb(images[s])) for s in chunk]).to(device)
            features = model.encode_image(batch)
            features = features / features.norm(dim=-1, keepdim=True)
            logits = scale * features @ text.T
            scores = logits.softmax(dim=-1) if bias is None else torch.sigmoid(logits + bias)
            for stem, row in zip(chunk, scores.cpu().tolist()):
                # Labels from the scores as written, so labelEval's sweep at `threshold` sees these labels.
                written = {n: round(float(s), 6) for n, s in zip(names, row)}
                chosen = [n for n in names if written[n] >= params["threshold"]]
                labelled += len(chosen)
                write_json(os.path.join(labels_dir, f"{stem}.json"), chosen, newline=False)
                write_json(os.path.join(scores_dir, f"{stem}.json"), written)
            done += len(chunk)
            progress(done, len(stems), chunk[-1])
    return {"items": len(stems), "labelsPerItem": labelled / max(1, len(stems))}


def class_embeddings(model, tokenizer, names, templates, device):
    """(C, D): per class, the normalised mean of its templates' normalised text embeddings."""
    rows = []
    for name in names:
        texts = [t.replace("{}", name.replace("_", " ")) for t in templates]
        emb = model.encode_text(tokenizer(texts).to(device))
        emb = emb / emb.norm(dim=-1, keepdim=True)
        mean = emb.mean(dim=0)
        rows.append(mean / mean.norm())
    return torch.stack(rows)


# MARK: - Weights, offline


def load(params, device):
    """(model in eval mode, image transform, tokenizer) from the checkpoint or the local cache."""
    name = params["model"]
    if params["modelConfig"]:
        register_config(name, params["modelConfig"])
    if name not in open_clip.list_models():
        raise StageError(f"open_clip has no model '{name}'; give modelConfig: a config JSON for it, "
                         f"or one of {', '.join(open_clip.list_models()[:12])}, ...")
    force = {}
    if params["checkpoint"]:
        if not os.path.isfile(params["checkpoint"]):
            raise StageError(f"checkpoint {params['checkpoint']} does not exist; "
                             f"put the open_clip weights for {name} there, or point checkpoint: at them")
        weights = params["checkpoint"]
    else:
        weights, force = cached_weights(name, params["pretrained"])
    log(f"clipLabel: {name} weights from {weights}")
    try:
        model, _, preprocess = open_clip.create_model_and_transforms(
            name, pretrained=weights, device=device, force_quick_gelu=force.get("quick_gelu", False),
            image_mean=force.get("mean"), image_std=force.get("std"),
            image_interpolation=force.get("interpolation"), image_resize_mode=force.get("resize_mode"))
    except (RuntimeError, KeyError, ValueError) as exc:
        raise StageError(f"cannot load {weights} into open_clip model {name}: {exc}; "
                         "the checkpoint must be an open_clip state_dict of this architecture") from exc
    model.eval()
    return model, preprocess, open_clip.get_tokenizer(name)


def register_config(name, path):
    """Make an open_clip model config JSON known under `name` (open_clip names configs by file stem)."""
    try:
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
    except (OSError, ValueError) as exc:
        raise StageError(f"modelConfig {path} is not a readable JSON file: {exc}") from exc
    missing = [k for k in ("embed_dim", "vision_cfg", "text_cfg") if k not in config]
    if missing:
        raise StageError(f"modelConfig {path} lacks {', '.join(missing)}; an open_clip model config has "
                         "embed_dim, vision_cfg and text_cfg")
    folder = tempfile.mkdtemp(prefix="segflow-openclip-")
    try:
        with open(os.path.join(folder, f"{name}.json"), "w", encoding="utf-8") as handle:
            json.dump(config, handle)
        open_clip.add_model_config(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def cached_weights(name, tag):
    """(path, preprocess overrides) of `tag`'s weights in open_clip's local caches, or a clear error."""
    cfg = open_clip.get_pretrained_cfg(name, tag)
    if not cfg:
        tags = open_clip.list_pretrained_tags_by_model(name)
        raise StageError(f"no checkpoint given and open_clip knows no weights '{tag}' for {name} "
                         f"(known: {', '.join(tags) or 'none'}); set checkpoint: to a local weights file")
    force = {k: cfg[k] for k in ("mean", "std", "interpolation", "resize_mode") if k in cfg}
    if cfg.get("quick_gelu"):
        force["quick_gelu"] = True
    wanted = []
    if cfg.get("hf_hub"):
        from huggingface_hub import try_to_load_from_cache
        from huggingface_hub.constants import HF_HUB_CACHE
        repo, filename = os.path.split(cfg["hf_hub"])
        filename = filename or "open_clip_pytorch_model.bin"
        # open_clip prefers a .safetensors twin when the hub has one (pretrained._get_safe_alternatives).
        if filename == "open_clip_pytorch_model.bin":
            candidates = ["open_clip_model.safetensors"]
        elif filename.endswith((".bin", ".pth")):
            candidates = [filename[:-4] + ".safetensors"]
        else:
            candidates = []
        for fname in candidates + [filename]:
            found = try_to_load_from_cache(repo, fname)
            if isinstance(found, str) and os.path.isfile(found):
                return found, force
        wanted.append(f"{filename} of the Hugging Face repo {repo} in the hub cache {HF_HUB_CACHE} "
                      f"(on a machine with network: huggingface-cli download {repo} {filename})")
    if cfg.get("url"):
        path = os.path.join(os.path.expanduser("~/.cache/clip"), os.path.basename(cfg["url"]))
        if os.path.isfile(path):
            return path, force
        wanted.append(f"{path} (from {cfg['url']})")
    raise StageError(f"the weights of {name} '{tag}' are not on this machine and are never downloaded at run time; "
                     f"put {' or '.join(wanted)}, or set checkpoint: to a local open_clip weights file")


def write_json(path, value, newline=True):
    """Compact JSON in the given key order (classes.yaml order). Labels go without a newline: the
    same bytes as cotLabel's for the same labels."""
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(value, handle, separators=(",", ":"), allow_nan=False)
        if newline:
            handle.write("\n")
