"""Router Advertisements from a Linux DUT: Debian's radvd in the DUT's namespace."""

import os
import signal
import subprocess
import time

from ..errors import ControlError

START_TIMEOUT = 2.0     # seconds radvd has to write its pid file (it is set up by then)


def min_interval(interval):
    """MinRtrAdvInterval for a MaxRtrAdvInterval: a third of it from 9 s up, else three
    quarters (RFC 4861 §6.2.1 wants 3 s to 0.75 times the maximum)."""
    return max(3.0, interval * (0.33 if interval >= 9 else 0.75))


def interface_block(interface, prefix, lifetime, interval, valid_lifetime,
                    preferred_lifetime, autonomous):
    """radvd's configuration of one advertising interface, every value written out."""
    return (f"interface {interface} {{\n"
            f"    AdvSendAdvert on;\n"
            f"    MaxRtrAdvInterval {interval:g};\n"
            f"    MinRtrAdvInterval {min_interval(interval):g};\n"
            f"    AdvDefaultLifetime {lifetime};\n"
            f"    AdvSourceLLAddress on;\n"
            f"    prefix {prefix} {{\n"
            f"        AdvOnLink on;\n"
            f"        AdvAutonomous {'on' if autonomous else 'off'};\n"
            f"        AdvValidLifetime {valid_lifetime};\n"
            f"        AdvPreferredLifetime {preferred_lifetime};\n"
            f"    }};\n"
            f"}};\n")


class Advertiser:
    """One radvd for the DUT's advertising interfaces, its files in *folder*.

    Each ``advertise`` (re)writes the configuration with every interface so
    far and restarts radvd; ``stop`` kills it (SIGKILL: no final
    advertisements leak into the next test).  It runs in the DUT's namespace
    with the run's marker, so the run's sweep ends it too.
    """

    def __init__(self, node, folder):
        self.node, self.folder = node, folder
        self.blocks = {}
        self.process = None

    def advertise(self, interface, *settings):
        """Make *interface* advertise with *settings* (see ``interface_block``)."""
        self.stop()
        self.blocks[interface] = interface_block(interface, *settings)
        config, pidfile = self.folder / "radvd.conf", self.folder / "radvd.pid"
        config.write_text("".join(self.blocks.values()))
        os.chmod(config, 0o600)       # radvd refuses a configuration others may write
        pidfile.unlink(missing_ok=True)
        log = open(self.folder / "radvd.log", "ab")
        try:
            self.process = self.node.popen(
                ["radvd", "--nodaemon", "--config", str(config), "--pidfile", str(pidfile),
                 "--logmethod", "stderr"], stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT)
        except OSError as exc:
            raise ControlError(f"linux DUT: cannot start radvd: {exc}") from None
        finally:
            log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while not pidfile.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = (self.folder / "radvd.log").read_text(errors="replace").strip()
                raise ControlError(f"linux DUT: radvd did not start: "
                                   f"{tail.splitlines()[-1] if tail else 'no output'}")
            time.sleep(0.01)

    def stop(self):
        """Kill radvd if it runs (the interfaces stay configured for the next start)."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
        if process is not None:
            process.wait()

    def reset(self):
        """Stop advertising on every interface."""
        self.stop()
        self.blocks.clear()
