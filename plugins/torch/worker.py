"""segflow torch plugin worker: one request on stdin, JSON events on stdout.

Run by the engine as `<venv>/bin/python worker.py` with the plugin folder as cwd. stdout is
claimed for the protocol before anything else is imported, so library output cannot
corrupt it; every failure becomes a single `error` event and exit status 1.
"""

import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")           # never reach the model hub
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS, before CUDA starts
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from segflow_torch import protocol  # noqa: E402  (stdlib only: safe before claiming stdout)


def main():
    protocol.claim_stdout()
    try:
        request = protocol.read_request()
        from segflow_torch import stages
        protocol.result(stages.run(request))
        return 0
    except BaseException as exc:  # noqa: B902 - the engine must always get an event
        protocol.error(exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
