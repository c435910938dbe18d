"""A plugin worker for engine tests: speaks the real protocol, misbehaves on request."""
import json, os, sys, time

req = json.loads(sys.stdin.readline())
mode = req["params"]["mode"]
out = os.path.join(req["outputDir"], "labels")
os.makedirs(out, exist_ok=True)
for i, stem in enumerate(req["items"]):
    with open(os.path.join(out, stem + ".json"), "w") as f:
        json.dump(["x"], f)
    print(json.dumps({"event": "progress", "done": i + 1, "total": len(req["items"])}), flush=True)
with open(os.path.join(os.environ.get("FAKE_COUNTER_DIR", "/tmp"), "calls.txt"), "a") as f:
    f.write(" ".join(req["items"]) + "\n")
if mode == "crash":
    print("about to crash", file=sys.stderr)
    os._exit(3)
if mode == "hang":
    time.sleep(60)
if mode == "slow":  # long enough that runs started together all compute the same items
    time.sleep(1.5)
if mode == "garbage":
    print("Epoch 1: loss 0.3", flush=True)
if mode == "error":
    print(json.dumps({"event": "error", "message": "model exploded", "traceback": "Traceback...\nValueError: boom"}), flush=True)
    sys.exit(1)
if mode == "silent":
    sys.exit(0)
# Misbehaviour beyond the protocol (hostile-plugin tests): each still ends with a result event.
if mode == "outside":
    with open(os.path.join(req["outputDir"], "..", "escaped.json"), "w") as f:
        f.write("[]")
if mode == "strayport":
    os.makedirs(os.path.join(req["outputDir"], "extra"), exist_ok=True)
    with open(os.path.join(req["outputDir"], "extra", "x.json"), "w") as f:
        f.write("[]")
if mode in ("symlink", "dangling"):
    target = os.path.join(out, req["items"][0] + ".json")
    os.remove(target)
    os.symlink(os.path.abspath(__file__) if mode == "symlink" else "/nonexistent/segflow/file.json", target)
if mode == "missing":
    os.remove(os.path.join(out, req["items"][-1] + ".json"))
if mode == "folder":
    os.makedirs(os.path.join(out, "sub.json"))
if mode == "binary":
    sys.stdout.buffer.write(bytes(range(256)) + b"\n")
    sys.stdout.flush()
if mode == "longline":
    # 64 MiB without a line break: the engine must not buffer it all.
    chunk = b"x" * (1 << 20)
    try:
        for _ in range(64):
            sys.stdout.buffer.write(chunk)
        sys.stdout.flush()
    except BrokenPipeError:
        os._exit(0)
    time.sleep(30)
if mode in ("orphan", "orphanfail"):
    # A child that keeps stdout open long after this worker has sent its result and exited (or
    # failed): the engine must neither wait for it nor leave it running. Its pid goes to a file
    # before the worker ends, so the test can look for it.
    child = os.fork()
    if child == 0:
        time.sleep(30)
        os._exit(0)
    with open(os.path.join(os.environ.get("FAKE_COUNTER_DIR", "/tmp"), "orphan.pid"), "w") as f:
        f.write(str(child))
    if mode == "orphanfail":
        print("failing with a child left behind", file=sys.stderr)
        os._exit(3)
print(json.dumps({"event": "result", "metrics": {"n": len(req["items"])}}), flush=True)
