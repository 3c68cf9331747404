"""testbed: a network-protocol conformance test bed on Mininet."""

__version__ = "0.1.0"
__all__ = ["Testbed"]


def __getattr__(name):
    """``from testbed import Testbed`` without loading Mininet or scapy at ``import testbed``."""
    if name == "Testbed":
        from .api import Testbed
        return Testbed
    raise AttributeError(f"module 'testbed' has no attribute {name!r}")
