"""The hit floor of bench/ondemand.py: a folder served by uvicorn + Starlette StaticFiles,
the same kind of server as ``thumbsmith origin``. ``python static_server.py DIR PORT``."""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles


def main() -> None:
    folder, port = sys.argv[1], int(sys.argv[2])
    app = Starlette(routes=[Mount("/", app=StaticFiles(directory=folder))])
    print(f"static listening on http://127.0.0.1:{port}", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
