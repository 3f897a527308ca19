"""Stands in for Twilio's Messages API in the SMS tests: checks basic auth and the form
fields, answers 201 like Twilio, and records each request as a JSON line.

usage: twilio_stub.py PORT_FILE LOG_FILE ACCOUNT_SID AUTH_TOKEN
"""
import base64
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

port_file, log_file, sid, token = sys.argv[1:5]
expected_auth = "Basic " + base64.b64encode(f"{sid}:{token}".encode()).decode()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0"))).decode()
        form = {k: v[0] for k, v in parse_qs(body).items()}
        ok_path = self.path == f"/2010-04-01/Accounts/{sid}/Messages.json"
        ok_auth = self.headers.get("authorization") == expected_auth
        ok_form = set(form) == {"To", "From", "Body"}
        with open(log_file, "a") as f:
            f.write(json.dumps({"path_ok": ok_path, "auth_ok": ok_auth, "form": form}) + "\n")
        code = 201 if (ok_path and ok_auth and ok_form) else (401 if not ok_auth else 400)
        reply = json.dumps({"sid": "SM123", "status": "queued"} if code == 201 else {"message": "refused"}).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.replace(port_file + ".tmp", port_file)
server.serve_forever()
