"""The worker side of the engine's line-delimited JSON protocol (docs/PLUGIN-PROTOCOL.md).

stdout belongs to the protocol: one JSON object per line and nothing else. Libraries print
(tqdm, warnings, C++ logs), so `claim_stdout()` moves file descriptor 1 onto stderr at the
OS level and keeps a private duplicate of the real stdout for `emit()`. Call it before
importing torch so nothing can slip through.
"""

import json
import math
import os
import sys
import traceback

PROTOCOL = 1

_out = None


def claim_stdout():
    """Keep a private handle to the real stdout; send fd 1 and sys.stdout to stderr."""
    global _out
    if _out is not None:
        return
    sys.stdout.flush()
    _out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr


def emit(event, **fields):
    """Write one protocol event as a single JSON line and flush it."""
    line = json.dumps({"event": event, **fields}, separators=(",", ":"), allow_nan=False,
                      default=_jsonable)
    out = _out if _out is not None else sys.stdout
    out.write(line + "\n")
    out.flush()


def _jsonable(value):
    """numpy and torch scalars in metrics become plain numbers."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def progress(done, total, message=""):
    emit("progress", done=int(done), total=int(total), message=message)


def log(message):
    emit("log", message=str(message))


def result(metrics=None):
    emit("result", metrics=_finite(metrics or {}))


def _finite(metrics):
    """JSON has no NaN/Infinity: undefined scores are sent as null."""
    clean = {}
    for key, value in sorted(metrics.items()):
        if hasattr(value, "item"):
            value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        clean[key] = value
    return clean


def error(exc):
    """Report an exception as the single `error` event (last ~15 traceback lines)."""
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    tail = "".join(lines).rstrip("\n").split("\n")[-15:]
    message = str(exc) or type(exc).__name__
    if not isinstance(exc, StageError):
        message = f"{type(exc).__name__}: {message}"
    emit("error", message=message, traceback="\n".join(tail))


class StageError(Exception):
    """A problem with the request or the data that the user can fix; its text is the message."""


def read_request(stream=None):
    """Read and check the one request line from stdin."""
    text = (stream or sys.stdin).read()
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        raise StageError(f"expected exactly one request line on stdin, got {len(lines)}")
    try:
        request = json.loads(lines[0])
    except json.JSONDecodeError as exc:
        raise StageError(f"request is not valid JSON: {exc}") from None
    if not isinstance(request, dict):
        raise StageError("request must be a JSON object")
    if request.get("protocol") != PROTOCOL:
        raise StageError(f"unsupported protocol {request.get('protocol')!r}; this worker speaks {PROTOCOL}")
    for key in ("stage", "outputDir"):
        if not isinstance(request.get(key), str):
            raise StageError(f"request lacks '{key}'")
    return request
