"""A tiny UDP sender and listener that stack adapters run inside the DUT's namespace.

``python -m testbed.udp send DEST PORT HEXPAYLOAD [--source-port P]``
``python -m testbed.udp listen PORT [--family ipv4|ipv6]`` prints ``listening``
and then one JSON line per datagram: source, port, data (hex).
"""

import argparse
import json
import socket
import sys


def main(argv=None):
    """Entry point (see module docstring)."""
    parser = argparse.ArgumentParser(prog="testbed.udp")
    sub = parser.add_subparsers(dest="command", required=True)
    send = sub.add_parser("send")
    send.add_argument("destination")
    send.add_argument("port", type=int)
    send.add_argument("payload", help="hex")
    send.add_argument("--source-port", type=int)
    listen = sub.add_parser("listen")
    listen.add_argument("port", type=int)
    listen.add_argument("--family", choices=("ipv4", "ipv6"), default="ipv4")
    args = parser.parse_args(argv)

    if args.command == "send":
        family = socket.AF_INET6 if ":" in args.destination else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            if args.source_port:
                sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", args.source_port))
            sock.sendto(bytes.fromhex(args.payload), (args.destination, args.port))
        return 0

    family = socket.AF_INET6 if args.family == "ipv6" else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", args.port))
        print("listening", flush=True)
        while True:
            data, peer = sock.recvfrom(65535)
            print(json.dumps({"source": peer[0], "port": peer[1], "data": data.hex()}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
