#!/usr/bin/env python3
"""Serves test collateral like Intel PCS / AMD KDS on 127.0.0.1 (issue 6 fetcher tests).
usage: collateral_server.py CONFIG.json PORTFILE LOGFILE
CONFIG: {"/path": {"file": F, "headers": {"Name": [F1, F2]}}}; the query string is ignored for the
lookup and logged. Header values are the URL-encoded concatenation of the files, as PCS sends them."""
import http.server, json, sys, urllib.parse

cfg = json.load(open(sys.argv[1]))
log = open(sys.argv[3], "a", buffering=1)

class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        log.write(self.path + "\n")
        ent = cfg.get(urllib.parse.urlsplit(self.path).path)
        if ent is None:
            self.send_error(404)
            return
        body = open(ent["file"], "rb").read()
        self.send_response(200)
        for name, files in ent.get("headers", {}).items():
            val = b"\n".join(open(f, "rb").read() for f in files)
            self.send_header(name, urllib.parse.quote(val, safe=""))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass

srv = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
srv.serve_forever()
