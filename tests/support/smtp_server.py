"""A real SMTP server for the email tests (aiosmtpd): stores every message in a Maildir.

usage: smtp_server.py PORT_FILE MAILDIR
"""
import os
import socket
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox

port_file, maildir = sys.argv[1:3]
s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
controller = Controller(Mailbox(maildir), hostname="127.0.0.1", port=port)
controller.start()
with open(port_file + ".tmp", "w") as f:
    f.write(str(port))
os.replace(port_file + ".tmp", port_file)
while True:
    time.sleep(3600)
