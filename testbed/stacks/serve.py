"""The server side of the stack control protocol, for shims written in Python.

A shim subclasses ``Shim``, implements ``op_<name>(**arguments)`` for the
operations of ``stacks/PROTOCOL.md`` it supports, and calls ``serve()``.  A
method returns a dict of result fields (or None); raising ``Refused`` answers
``ok: false`` with its code.  An op without a method is ``unsupported``.
"""

import json
import os
import signal
import socket
import sys


class Refused(Exception):
    """An operation the shim cannot carry out: *code* is unsupported, invalid or failed."""

    def __init__(self, message, code="failed"):
        super().__init__(message)
        self.code = code


class Shim:
    """A protocol server: one client at a time, one JSON request per line."""

    stack = "unknown"
    version = "unknown"

    def op_hello(self):
        """Liveness, and who is answering."""
        return {"stack": self.stack, "version": self.version}

    def handle(self, request):
        """The response dict for one request dict."""
        if not isinstance(request, dict) or not isinstance(request.get("op"), str):
            return {"ok": False, "code": "invalid", "error": "a request is an object with an op"}
        arguments = {k: v for k, v in request.items() if k != "op"}
        method = getattr(self, f"op_{request['op']}", None)
        if method is None:
            return {"ok": False, "code": "unsupported",
                    "error": f"{self.stack} has no operation {request['op']}"}
        try:
            return {"ok": True, **(method(**arguments) or {})}
        except Refused as exc:
            return {"ok": False, "code": exc.code, "error": str(exc)}
        except TypeError as exc:
            return {"ok": False, "code": "invalid", "error": str(exc)}
        except Exception as exc:   # report, keep serving
            return {"ok": False, "code": "failed", "error": f"{exc!r}"}

    def serve(self, path):
        """Listen on the UNIX socket *path* and answer requests until SIGTERM."""
        die_with_parent()
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
        if os.path.exists(path):
            os.unlink(path)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen(1)
        while True:
            connection, _ = server.accept()
            with connection, connection.makefile("rwb") as stream:
                for line in stream:
                    try:
                        response = self.handle(json.loads(line))
                    except ValueError as exc:
                        response = {"ok": False, "code": "invalid", "error": f"not JSON: {exc}"}
                    stream.write(json.dumps(response).encode() + b"\n")
                    stream.flush()


def die_with_parent():
    """Ask the kernel for SIGKILL when the parent (testbed) dies."""
    if sys.platform.startswith("linux"):
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
