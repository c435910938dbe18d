"""A fault-injecting HTTP proxy in front of a real S3 server (moto), for the remote's retry tests.

Usage: flaky_proxy.py UPSTREAM_PORT FAULTS_FILE
Prints its own port on stdout, then forwards every request to 127.0.0.1:UPSTREAM_PORT, except that
every 4th request gets a fault instead, in turn: HTTP 503 (SlowDown), HTTP 429, a dropped connection
(a request with a body gets a 503 instead of the drop: swift-corelibs-foundation's URLSession does not
notice a connection closed after an upload and waits for its idle timeout).
Each fault appends a line to FAULTS_FILE. Exits when stdin closes.
"""
import http.client, http.server, itertools, socket, sys, threading

upstream, faults_file = int(sys.argv[1]), sys.argv[2]
counter = itertools.count(1)
lock = threading.Lock()
SLOWDOWN = b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>'

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args): pass

    def handle_any(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with lock:
            n = next(counter)
        if n % 4 == 0:
            kind = ("503", "429", "drop")[(n // 4) % 3]
            if kind == "drop" and body:
                kind = "503"
            with lock, open(faults_file, "a") as f:
                f.write(f"{kind} {self.command} {self.path}\n")
            if kind == "drop":
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            self.send_response(int(kind))
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(SLOWDOWN)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(SLOWDOWN)
            return
        conn = http.client.HTTPConnection("127.0.0.1", upstream, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "transfer-encoding")}
        conn.request(self.command, self.path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "content-length", "server", "date"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)) if self.command != "HEAD" else r.getheader("Content-Length", "0"))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        conn.close()

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = handle_any

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()
