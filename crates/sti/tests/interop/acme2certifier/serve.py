# file: serve.py
"""Serve acme2certifier's WSGI app on 127.0.0.1 only.
usage: ACME_SRV_CONFIGFILE=... python serve.py PORT [PORTFILE]   (PORT 0 = any free port)
HTTPS instead of HTTP: also set A2C_TLS_CERT and A2C_TLS_KEY (PEM files)."""
import os
import ssl
import sys
from wsgiref.simple_server import WSGIRequestHandler, make_server

if not os.environ.get("ACME_SRV_CONFIGFILE"):
    sys.exit("set ACME_SRV_CONFIGFILE (otherwise acme2certifier looks in /var/www/...)")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # lets cfg say handler_module: sti_ca_handler
from acme2certifier.share.acme2certifier_wsgi import application  # noqa: E402  (loads cfg + creates DB)

TLS_CERT, TLS_KEY = os.environ.get("A2C_TLS_CERT"), os.environ.get("A2C_TLS_KEY")


class Handler(WSGIRequestHandler):
    def get_environ(self):
        env = super().get_environ()
        if TLS_CERT:
            env["HTTPS"] = "on"  # wsgiref then sets wsgi.url_scheme=https -> https:// URLs
        return env


srv = make_server("127.0.0.1", int(sys.argv[1]), application, handler_class=Handler)
if TLS_CERT:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(TLS_CERT, TLS_KEY)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
if len(sys.argv) > 2:
    with open(sys.argv[2], "w", encoding="ascii") as fso:
        fso.write(str(srv.server_port))
srv.serve_forever()
