"""A webhook receiver for the alert tests: verifies each request with the independent
`standardwebhooks` implementation and records what it got, one JSON line per request.

usage: webhook_receiver.py PORT_FILE LOG_FILE SECRET MODE
MODE: ok | fail-first (500 to the first request, then normal) | hang (never answers)
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

port_file, log_file, secret, mode = sys.argv[1:5]
verifier = Webhook(secret)
lock = threading.Lock()
seen = {"n": 0}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        with lock:
            seen["n"] += 1
            n = seen["n"]
        if mode == "hang":
            time.sleep(3600)
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            verifier.verify(body, headers)
            verified = True
        except Exception as e:  # the library raises on any mismatch
            verified = False
        record = {
            "n": n,
            "path": self.path,
            "verified": verified,
            "authorization": headers.get("authorization"),
            "body": body.decode("utf-8", "replace"),
        }
        with lock, open(log_file, "a") as f:
            f.write(json.dumps(record) + "\n")
        if mode == "fail-first" and n == 1:
            code = 500
        else:
            code = 200 if verified else 401
        self.send_response(code)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os

os.replace(port_file + ".tmp", port_file)
server.serve_forever()
