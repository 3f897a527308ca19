"""A real SMTP server for the email tests (aiosmtpd): stores every message in a Maildir.
With a certificate and key it offers STARTTLS and refuses mail without it.

usage: smtp_server.py PORT_FILE MAILDIR [CERT_PEM KEY_PEM]
"""
import os
import socket
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox

port_file, maildir = sys.argv[1:3]
tls = {}
if len(sys.argv) >= 5:
    import ssl

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])
    tls = {"tls_context": ctx, "require_starttls": True}
s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
controller = Controller(Mailbox(maildir), hostname="127.0.0.1", port=port, **tls)
controller.start()
with open(port_file + ".tmp", "w") as f:
    f.write(str(port))
os.replace(port_file + ".tmp", port_file)
while True:
    time.sleep(3600)
