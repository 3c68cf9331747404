"""The client side of the stack control protocol (``stacks/PROTOCOL.md``)."""

import json
import os
import socket
import time

from ..errors import ControlError, Unsupported

OP_TIMEOUT = 5.0   # every operation answers within this, unless it says otherwise; a dead
                   # stack is noticed at once (it hangs up), so a slow machine costs no verdict


class StackGone(ControlError):
    """The stack's shim died, hung up or did not answer in time."""


class ControlClient:
    """One connection to a shim: a request, then its response, one at a time.

    After a timeout or a broken connection the client refuses further
    requests with StackGone: a late answer would be taken for the next one.
    """

    def __init__(self, stack, sock):
        self.stack, self.sock = stack, sock
        self.stream = sock.makefile("rb")
        self.broken = None

    @classmethod
    def connect(cls, stack, path, process, timeout):
        """Connect to the shim's socket at *path*, waiting up to *timeout* s for it to appear.

        Gives up at once if *process* (the shim) exits meanwhile.
        """
        deadline = time.monotonic() + timeout
        delay = 0.001
        while True:
            if process.poll() is not None:
                raise StackGone(f"{stack}: the stack exited with status {process.returncode} "
                                f"before opening its control socket")
            if os.path.exists(path):
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    sock.connect(str(path))
                    return cls(stack, sock)
                except (ConnectionRefusedError, FileNotFoundError):
                    sock.close()
            if time.monotonic() > deadline:
                raise StackGone(f"{stack}: no control socket at {path} after {timeout:g} s")
            time.sleep(delay)
            delay = min(delay * 2, 0.02)

    def call(self, op, wait=OP_TIMEOUT, **arguments):
        """Send one request; return the response's fields.

        Raises Unsupported for ``code: unsupported``, ControlError for other
        refusals, StackGone if the shim hangs up or takes longer than *wait* seconds.
        """
        if self.broken:
            raise StackGone(self.broken)
        request = json.dumps({"op": op, **arguments}).encode() + b"\n"
        try:
            self.sock.settimeout(wait)
            self.sock.sendall(request)
            line = self.stream.readline()
        except TimeoutError:
            return self._break(f"{self.stack}: no answer to {op} within {wait:g} s")
        except OSError as exc:
            return self._break(f"{self.stack}: control connection lost during {op}: {exc}")
        if not line:
            return self._break(f"{self.stack}: the stack hung up during {op}")
        try:
            response = json.loads(line)
        except ValueError:
            return self._break(f"{self.stack}: answered {op} with something not JSON: "
                               f"{line[:80]!r}")
        if response.get("ok") is True:
            return response
        error = str(response.get("error") or "refused")
        if response.get("code") == "unsupported":
            raise Unsupported(self.stack, op, error)
        raise ControlError(f"{self.stack}: {op} failed: {error}")

    def _break(self, reason):
        self.broken = reason
        self.close()
        raise StackGone(reason)

    def close(self):
        """Close the connection."""
        self.stream.close()
        self.sock.close()
