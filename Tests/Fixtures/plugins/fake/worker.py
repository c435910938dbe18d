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
if mode == "garbage":
    print("Epoch 1: loss 0.3", flush=True)
if mode == "error":
    print(json.dumps({"event": "error", "message": "model exploded", "traceback": "Traceback...\nValueError: boom"}), flush=True)
    sys.exit(1)
if mode == "silent":
    sys.exit(0)
print(json.dumps({"event": "result", "metrics": {"n": len(req["items"])}}), flush=True)
