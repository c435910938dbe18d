"""The stage table: plugin.yaml's ports and params, and the function behind each stage.

plugin.yaml is the one declaration of every stage (the engine reads it too); this module
loads it once and adds only what the manifest cannot say: which `module:function` runs
each stage. Stage code is imported lazily so a CAM call does not pay for importing
segmentation_models_pytorch.
"""

import functools
import importlib
import os

import yaml

from .protocol import StageError

MANIFEST = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "plugin.yaml")

# stage -> "module:function" under segflow_torch; every plugin.yaml stage has one (tested).
FUNCTIONS = {
    "classifierTrain": "classifier:train",
    "cam": "cams:run_cam",
    "gradcampp": "cams:run_gradcampp",
    "hirescam": "cams:run_hirescam",
    "unetTrain": "segmentation:train",
    "deeplabTrain": "segmentation:train",
    "predict": "segmentation:predict",
    "clipLabel": "clip:run",
}

# `file` params arrive as absolute paths ("" when unset); `stringList` as JSON lists of strings.
_TYPES = {"string": str, "int": int, "float": (int, float), "bool": bool, "file": str, "stringList": list}


def load_manifest(path=MANIFEST):
    """{stage: {granularity, inputs, outputs, params}} as plugin.yaml declares it."""
    with open(path, encoding="utf-8") as handle:
        manifest = yaml.safe_load(handle)
    stages = {}
    for name, declared in (manifest.get("stages") or {}).items():
        params = {}
        for pname, rule in (declared.get("params") or {}).items():
            rule = dict(rule)
            rule.setdefault("type", "string")  # the engine's default too
            if rule["type"] not in _TYPES:
                raise StageError(f"plugin.yaml: param '{pname}' of '{name}' has unknown type {rule['type']!r}")
            if rule["type"] == "float" and isinstance(rule.get("default"), int) and not isinstance(rule["default"], bool):
                rule["default"] = float(rule["default"])  # `default: 0` of a float param
            params[pname] = rule
        stages[name] = {
            "granularity": declared.get("granularity", "map"),
            "inputs": dict(declared.get("inputs") or {}),
            "outputs": dict(declared.get("outputs") or {}),
            "params": params,
        }
    return stages


@functools.lru_cache(maxsize=None)
def table():
    """The manifest's stages, read once per worker process."""
    return load_manifest()


def resolve_params(stage, given):
    """Defaults filled in, types, ranges and choices checked; unknown names rejected."""
    spec = table()[stage]["params"]
    given = dict(given or {})
    unknown = sorted(set(given) - set(spec))
    if unknown:
        raise StageError(f"stage '{stage}' has no param(s) {', '.join(unknown)}")
    params = {}
    for name, rule in spec.items():
        value = given.get(name, rule.get("default"))
        if rule["type"] == "int" and isinstance(value, float) and value.is_integer():
            value = int(value)  # a JSON encoder may write 10 as 10.0
        expected = _TYPES[rule["type"]]
        if isinstance(value, bool) and rule["type"] != "bool" or not isinstance(value, expected):
            raise StageError(f"param '{name}' of '{stage}' must be a {rule['type']}, got {value!r}")
        if rule["type"] == "stringList" and not all(isinstance(v, str) for v in value):
            raise StageError(f"param '{name}' of '{stage}' must be a list of strings, got {value!r}")
        if "choices" in rule and value not in rule["choices"]:
            raise StageError(f"param '{name}' of '{stage}' must be one of {', '.join(map(str, rule['choices']))}, got {value!r}")
        if "min" in rule and value < rule["min"] or "max" in rule and value > rule["max"]:
            raise StageError(f"param '{name}' of '{stage}' is out of range [{rule.get('min')}, {rule.get('max')}]: {value!r}")
        params[name] = value
    return params


def check_inputs(stage, request):
    """Every required input port is present (optional ones are written `Type?`)."""
    given = request.get("inputs") or {}
    for name, kind in table()[stage]["inputs"].items():
        if not kind.endswith("?") and name not in given:
            raise StageError(f"stage '{stage}' needs input '{name}' ({kind}), which the request lacks")


def run(request):
    """Dispatch a checked request to its stage; returns the result metrics."""
    stage = request["stage"]
    stages = table()
    if stage not in stages:
        raise StageError(f"unknown stage {stage!r}; this plugin has {', '.join(stages)}")
    if stage not in FUNCTIONS:
        raise StageError(f"plugin.yaml declares stage {stage!r}, but segflow_torch/stages.py has no function for it")
    params = resolve_params(stage, request.get("params"))
    check_inputs(stage, request)
    module_name, function = FUNCTIONS[stage].split(":")
    module = importlib.import_module(f"segflow_torch.{module_name}")
    return getattr(module, function)(request, params)
