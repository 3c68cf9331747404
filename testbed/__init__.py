"""testbed: a network-protocol conformance test bed on Mininet."""

__version__ = "0.1.0"
