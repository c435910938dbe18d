#!/usr/bin/env python3
"""A scripted stand-in for Ollama and OpenAI-compatible servers, for SegflowVLM's tests.

Usage: fake_vlm_server.py SCRIPT.json LOG.jsonl [--lifetime SECONDS]

Listens on 127.0.0.1 on a free port and prints that port as its first stdout line.
Speaks the real wire formats: POST /api/chat (Ollama, answer in message.content) and
POST /v1/chat/completions (OpenAI, answer in choices[0].message.content).

SCRIPT.json: {"rules": [RULE, ...]}. A request takes the first rule whose given fields all match:
  "model":  the request's model, exactly
  "prompt": a substring of the prompt text (the user message's text)
  "seed":   the request's seed (options.seed for Ollama, seed for OpenAI)
  "path":   "/api/chat" or "/v1/chat/completions"
  "image":  a substring of the first image's bytes (decoded from base64, read as latin-1)
and answers with the rule's next response; the last one repeats (a per-rule request counter).
A response: {"text": answer, "status": 200, "delay": seconds, "body": raw body, "headers": {...}}.
Misbehaving servers (hostile-input tests), after the delay:
  "drop": true      close the connection without a reply
  "cut": N          send the headers (with the full Content-Length) and N bytes of the body, then close
  "raw": text       write text to the socket instead of an HTTP reply, then close
  "trickle": secs   send the body one byte every secs seconds
  "pad": N          answer with N bytes of spaces appended to the JSON body (a huge reply)
In "text", "{{authorization}}" stands for the request's Authorization header without "Bearer "
(a server that echoes the key it was sent).
No matching rule: HTTP 418.

Every request is appended to LOG.jsonl before it is answered:
  {"n": counter, "method", "path", "headers": {lowercase name: value}, "body": JSON or null, "rule": index or null}
The server exits when its standard input closes, on SIGTERM, or by itself after --lifetime
seconds (default 300). It unblocks every signal first: a test runner's threads may have
blocked SIGTERM, and a child inherits that mask.
"""
import base64
import json
import sys
import threading
import time
import os
import signal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SCRIPT = {"rules": []}
LOG_PATH = None
LOCK = threading.Lock()
COUNTERS = {}
STATE = {"n": 0}


def prompt_text(body):
    messages = (body or {}).get("messages") or []
    if not messages:
        return ""
    content = messages[-1].get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def request_seed(path, body):
    if path == "/api/chat":
        return ((body or {}).get("options") or {}).get("seed")
    return (body or {}).get("seed")


def image_text(path, body):
    messages = (body or {}).get("messages") or []
    if not messages:
        return ""
    message = messages[-1]
    encoded = None
    if path == "/api/chat":
        images = message.get("images") or []
        encoded = images[0] if images else None
    elif isinstance(message.get("content"), list):
        for part in message["content"]:
            if isinstance(part, dict) and part.get("type") == "image_url":
                encoded = part["image_url"]["url"].split(",", 1)[-1]
                break
    if not encoded:
        return ""
    try:
        return base64.b64decode(encoded).decode("latin-1")
    except (ValueError, TypeError):
        return ""


def pick_rule(path, body):
    for i, rule in enumerate(SCRIPT.get("rules", [])):
        if "path" in rule and rule["path"] != path:
            continue
        if "model" in rule and rule["model"] != (body or {}).get("model"):
            continue
        if "prompt" in rule and rule["prompt"] not in prompt_text(body):
            continue
        if "image" in rule and rule["image"] not in image_text(path, body):
            continue
        if "seed" in rule and rule["seed"] != request_seed(path, body):
            continue
        return i
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send_json(self, status, obj, headers=None, raw=None, response=None):
        response = response or {}
        data = raw.encode() if raw is not None else json.dumps(obj).encode()
        if response.get("pad"):
            data += b" " * int(response["pad"])
        try:
            if response.get("drop"):
                self.close_now()
                return
            if "raw" in response:
                self.wfile.write(response["raw"].encode())
                self.wfile.flush()
                self.close_now()
                return
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, str(v))
            self.end_headers()
            if "cut" in response:
                self.wfile.write(data[:int(response["cut"])])
                self.wfile.flush()
                self.close_now()
                return
            if response.get("trickle"):
                for i in range(len(data)):
                    self.wfile.write(data[i:i + 1])
                    self.wfile.flush()
                    time.sleep(float(response["trickle"]))
                return
            self.wfile.write(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def close_now(self):
        """Ends the connection at once (no keep-alive, no further reply)."""
        self.close_connection = True
        try:
            self.connection.shutdown(2)
        except OSError:
            pass

    def do_GET(self):
        self.handle_request(None)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        self.handle_request(body)

    def handle_request(self, body):
        path = self.path
        with LOCK:
            STATE["n"] += 1
            n = STATE["n"]
            rule = pick_rule(path, body) if self.command == "POST" else None
            response = None
            if rule is not None:
                responses = SCRIPT["rules"][rule].get("responses") or [{"text": ""}]
                k = COUNTERS.get(rule, 0)
                COUNTERS[rule] = k + 1
                response = responses[min(k, len(responses) - 1)]
            entry = {"n": n, "method": self.command, "path": path,
                     "headers": {k.lower(): v for k, v in self.headers.items()},
                     "body": body, "rule": rule}
            with open(LOG_PATH, "a") as log:
                log.write(json.dumps(entry) + "\n")
        if response is None:
            self.send_json(418, {"error": "fake server: no rule matches this request"})
            return
        if response.get("delay"):
            time.sleep(float(response["delay"]))
        status = int(response.get("status", 200))
        text = response.get("text", "").replace(
            "{{authorization}}", (self.headers.get("Authorization") or "").replace("Bearer ", "", 1))
        model = (body or {}).get("model", "")
        if status >= 400:
            message = text or "scripted error %d" % status
            obj = {"error": message} if path == "/api/chat" else {"error": {"message": message, "type": "scripted"}}
        elif path == "/api/chat":
            obj = {"model": model, "created_at": "2026-01-01T00:00:00Z",
                   "message": {"role": "assistant", "content": text},
                   "done": True, "done_reason": "stop"}
        else:
            obj = {"id": "chatcmpl-%d" % n, "object": "chat.completion", "created": 0, "model": model,
                   "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                "finish_reason": "stop"}],
                   "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
        self.send_json(status, obj, response.get("headers"), response.get("body"), response)


def exit_when_stdin_closes():
    try:
        while sys.stdin.buffer.read(1024):
            pass
    except (OSError, ValueError):
        pass
    os._exit(0)


def main():
    global SCRIPT, LOG_PATH
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    args = sys.argv[1:]
    lifetime = 300.0
    if "--lifetime" in args:
        i = args.index("--lifetime")
        lifetime = float(args[i + 1])
        del args[i:i + 2]
    with open(args[0]) as f:
        SCRIPT = json.load(f)
    LOG_PATH = args[1]
    open(LOG_PATH, "w").close()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    timer = threading.Timer(lifetime, lambda: os._exit(0))
    timer.daemon = True
    timer.start()
    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
