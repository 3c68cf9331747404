"""Driving the stacks of a detached run from another process (``testbed exec``).

A stack's shim takes one client at a time, and the detached run's daemon is
that client; so the daemon relays: it listens on ``stacks.sock`` in the run's
folder for one JSON request per connection, ``{"node": "h1", "words": ["ping",
"198.18.3.10"]}``, performs it as the console would (``console.perform``) and
answers ``{"ok": true, "text": "…"}`` or ``{"error": "…"}``.
"""

import json
import socket
import threading

from .errors import TestbedError

SOCKET = "stacks.sock"
ANSWER_TIMEOUT = 120.0     # seconds a client waits (a ping or listen takes what it asks)


def serve(emulation):
    """Start relaying requests for *emulation*'s stacks, in a daemon thread."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(emulation.run.dir / SOCKET))
    server.listen()
    lock = threading.Lock()      # one operation at a time, as the shims require

    def loop():
        while True:
            connection, _ = server.accept()
            with connection, lock:
                connection.sendall(json.dumps(_answer(emulation, connection)).encode() + b"\n")
    threading.Thread(target=loop, name="stack relay", daemon=True).start()


def _answer(emulation, connection):
    from .console import perform
    try:
        request = json.loads(connection.makefile().readline())
        adapter = emulation.adapters[request["node"]]
        text, ok = perform(adapter, request["words"])
        return {"ok": ok, "text": str(text)}
    except TestbedError as exc:
        return {"error": str(exc)}
    except (TypeError, ValueError, KeyError) as exc:
        return {"error": f"bad request ({exc})"}


def call(run, node, words):
    """Ask the daemon of *run* to perform *words* on *node*'s stack; (ok, text).

    Raises TestbedError if the stack refused or failed.
    """
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(ANSWER_TIMEOUT)
        client.connect(str(run.dir / SOCKET))
        client.sendall(json.dumps({"node": node, "words": words}).encode() + b"\n")
        answer = json.loads(client.makefile().readline())
    if "error" in answer:
        raise TestbedError(answer["error"])
    return answer["ok"], answer["text"]
