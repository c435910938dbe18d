"""The stage table: ports, params and the function behind each stage.

plugin.yaml is what the engine reads; this table is what the worker checks a request
against (the tests keep the two equal). Stage code is imported lazily so a CAM call does
not pay for importing segmentation_models_pytorch.
"""

import importlib

from .protocol import StageError


def _p(type_, default, **extra):
    return {"type": type_, "default": default, **extra}


_SEED = _p("int", -1, min=-1, doc="random seed; -1 = the pipeline's seed from the request")
_VAL = _p("float", 0.2, min=0, max=0.9, doc="share of items held out for validation (fixed split by stem hash)")
_LR = _p("float", 0.001, min=0, doc="Adam learning rate")
_WD = _p("float", 0.0, min=0, doc="Adam weight decay")
_RESNETS = ["resnet18", "resnet34", "resnet50"]

_CAM_PARAMS = {
    "classes": _p("string", "labelled", choices=["labelled", "all"],
                  doc="labelled: only the image's labelled classes (others are zero channels); "
                      "all: every class. Without a labels input every class is computed"),
    "normalize": _p("string", "max", choices=["max", "minmax", "none"],
                    doc="max: ReLU, divide by the per-class max (IRN); minmax: ReLU, pytorch-grad-cam's "
                        "min-max scaling; none: raw signed map"),
    "imageSize": _p("int", 0, min=0, max=4096,
                    doc="short side of the inference image; 0 = the classifier's imageSize"),
}
_TARGET = {"targetLayer": _p("string", "layer4", doc="module path of the layer to explain, e.g. layer4, layer3, layer4.1")}


def _segmentation_params(arch):
    return {
        "encoder": _p("string", "resnet18", choices=_RESNETS,
                      doc=f"{arch} encoder; resnet18 keeps CPU runs practical"),
        "encoderWeights": _p("string", "none", choices=["none", "imagenet"],
                             doc="imagenet loads smp's weights from the local Hugging Face cache only"),
        "epochs": _p("int", 10, min=1, max=10000),
        "lr": _LR,
        "weightDecay": _WD,
        "batch": _p("int", 4, min=1, max=1024),
        "height": _p("int", 0, min=0, max=8192, doc="training/inference height; with width > 0 overrides scale"),
        "width": _p("int", 0, min=0, max=8192, doc="training/inference width; with height > 0 overrides scale"),
        "scale": _p("float", 1.0, min=0.05, max=4, doc="resize factor used when height or width is 0"),
        "seed": _SEED,
        "valFraction": _VAL,
    }


STAGES = {
    "classifierTrain": {
        "run": "classifier:train",
        "granularity": "reduce",
        "inputs": {"images": "Images", "labels": "Labels"},
        "outputs": {"model": "Model"},
        "params": {
            "backbone": _p("string", "resnet18", choices=_RESNETS, doc="torchvision ResNet"),
            "pretrained": _p("string", "none", choices=["none", "imagenet"],
                             doc="imagenet loads torchvision's IMAGENET1K_V1 weights from the torch hub cache only"),
            "freeze": _p("string", "none", choices=["backbone", "none"],
                         doc="backbone: train only the new linear head (batch-norm statistics frozen too)"),
            "epochs": _p("int", 10, min=1, max=10000),
            "lr": _LR,
            "weightDecay": _WD,
            "batch": _p("int", 16, min=1, max=4096),
            "imageSize": _p("int", 224, min=32, max=4096,
                            doc="short side images are resized to; training uses random square crops of this size"),
            "seed": _SEED,
            "valFraction": _VAL,
        },
    },
    "cam": {
        "run": "cams:run_cam",
        "granularity": "map",
        "inputs": {"images": "Images", "model": "Model", "labels": "Labels?"},
        "outputs": {"cams": "CAMs"},
        "params": dict(_CAM_PARAMS),
    },
    "gradcampp": {
        "run": "cams:run_gradcampp",
        "granularity": "map",
        "inputs": {"images": "Images", "model": "Model", "labels": "Labels?"},
        "outputs": {"cams": "CAMs"},
        "params": {**_TARGET, **_CAM_PARAMS},
    },
    "hirescam": {
        "run": "cams:run_hirescam",
        "granularity": "map",
        "inputs": {"images": "Images", "model": "Model", "labels": "Labels?"},
        "outputs": {"cams": "CAMs"},
        "params": {**_TARGET, **_CAM_PARAMS},
    },
    "unetTrain": {
        "run": "segmentation:train",
        "granularity": "reduce",
        "inputs": {"images": "Images", "masks": "Masks"},
        "outputs": {"model": "Model"},
        "params": _segmentation_params("U-Net"),
    },
    "deeplabTrain": {
        "run": "segmentation:train",
        "granularity": "reduce",
        "inputs": {"images": "Images", "masks": "Masks"},
        "outputs": {"model": "Model"},
        "params": _segmentation_params("DeepLabV3+"),
    },
    "predict": {
        "run": "segmentation:predict",
        "granularity": "map",
        "inputs": {"images": "Images", "model": "Model"},
        "outputs": {"masks": "Masks"},
        "params": {},
    },
}

_TYPES = {"string": str, "int": int, "float": (int, float), "bool": bool}


def resolve_params(stage, given):
    """Defaults filled in, types, ranges and choices checked; unknown names rejected."""
    spec = STAGES[stage]["params"]
    given = dict(given or {})
    unknown = sorted(set(given) - set(spec))
    if unknown:
        raise StageError(f"stage '{stage}' has no param(s) {', '.join(unknown)}")
    params = {}
    for name, rule in spec.items():
        value = given.get(name, rule["default"])
        if rule["type"] == "int" and isinstance(value, float) and value.is_integer():
            value = int(value)  # a JSON encoder may write 10 as 10.0
        expected = _TYPES[rule["type"]]
        if isinstance(value, bool) and rule["type"] != "bool" or not isinstance(value, expected):
            raise StageError(f"param '{name}' of '{stage}' must be a {rule['type']}, got {value!r}")
        if "choices" in rule and value not in rule["choices"]:
            raise StageError(f"param '{name}' of '{stage}' must be one of {', '.join(rule['choices'])}, got {value!r}")
        if "min" in rule and value < rule["min"] or "max" in rule and value > rule["max"]:
            raise StageError(f"param '{name}' of '{stage}' is out of range [{rule.get('min')}, {rule.get('max')}]: {value!r}")
        params[name] = value
    return params


def check_inputs(stage, request):
    """Every required input port is present (optional ones are written `Type?`)."""
    given = request.get("inputs") or {}
    for name, kind in STAGES[stage]["inputs"].items():
        if not kind.endswith("?") and name not in given:
            raise StageError(f"stage '{stage}' needs input '{name}' ({kind}), which the request lacks")


def run(request):
    """Dispatch a checked request to its stage; returns the result metrics."""
    stage = request["stage"]
    if stage not in STAGES:
        raise StageError(f"unknown stage {stage!r}; this plugin has {', '.join(STAGES)}")
    params = resolve_params(stage, request.get("params"))
    check_inputs(stage, request)
    module_name, function = STAGES[stage]["run"].split(":")
    module = importlib.import_module(f"segflow_torch.{module_name}")
    return getattr(module, function)(request, params)
