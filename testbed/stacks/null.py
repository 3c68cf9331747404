"""The null stack: interfaces up, nothing answers.  For testing the test bed itself."""

import shlex

from ..linuxcmd import SILENT
from .contract import Capability, Dut


class NullDut(Dut):
    """A DUT whose kernel is silenced and which runs no stack at all.

    Every conformance test against it must end in fail or inconclusive —
    never pass — which is how the test bed proves its tests can fail.
    """

    capabilities = frozenset({Capability.LINK, Capability.MTU})
    presets = SILENT
    kernel_silent = True

    def start(self):
        """Bring the interfaces up at their MTU; configure nothing else."""
        self.reset()

    def stop(self):
        """Nothing runs, so nothing stops."""

    def reset(self):
        """Interfaces up at their baseline MTU."""
        lines = [f"ip link set dev {shlex.quote(i.name)} mtu {i.mtu} up"
                 for i in self.baseline.interfaces.values()]
        self.shell(" && ".join(lines) or "true", "bringing interfaces up")

    def _set_link(self, interface, up):
        self.shell(f"ip link set dev {shlex.quote(interface)} {'up' if up else 'down'}",
                   "setting link state")

    def _set_mtu(self, interface, mtu):
        self.shell(f"ip link set dev {shlex.quote(interface)} mtu {mtu}", "setting the MTU")
