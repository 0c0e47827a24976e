"""Runs the Odoo emulator as its own process:

    python3 Tests/odoo_emulator --port 8069 --version 19

Prints "odoo-emulator listening on http://127.0.0.1:PORT (Odoo V)" once it accepts connections,
then serves until killed. Control it over HTTP (see server.py)."""

import argparse
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from server import serve  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(prog="odoo_emulator")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--version", type=int, choices=(17, 18, 19), default=17)
    p.add_argument("--db", default="plant")
    p.add_argument("--login", default="mesgate")
    p.add_argument("--api-key", default="secret-key")
    p.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM) ...")
    p.add_argument("--tls-key", help="... and this key")
    a = p.parse_args()
    tls = (a.tls_cert, a.tls_key) if a.tls_cert else None
    srv = serve(a.host, a.port, a.version, tls=tls, db=a.db, login=a.login, api_key=a.api_key)
    scheme = "https" if tls else "http"
    print(f"odoo-emulator listening on {scheme}://{a.host}:{srv.server_address[1]} (Odoo {a.version})", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
