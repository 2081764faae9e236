#!/usr/bin/env python3
"""A one-shot Lambda Runtime API on loopback, for profiling a cold start: hands out one
event, takes its response, then answers the next request with an error so that the
function stops.

Usage: one-shot-runtime-api.py PORT EVENT_FILE
"""
import http.server
import sys
import threading
import time

event = open(sys.argv[2], "rb").read()
state = {"served": False}


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.endswith("/invocation/next") and not state["served"]:
            state["served"] = True
            self.send_response(200)
            self.send_header("Lambda-Runtime-Aws-Request-Id", "profile-1")
            self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 600000))
            self.send_header(
                "Lambda-Runtime-Invoked-Function-Arn",
                "arn:aws:lambda:eu-west-1:123456789012:function:merge-deprovision",
            )
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(event)))
            self.end_headers()
            self.wfile.write(event)
        else:
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()
            threading.Thread(target=server.shutdown).start()

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        self.rfile.read(length)
        sys.stderr.write(f"posted {self.path}\n")
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
server.serve_forever()
