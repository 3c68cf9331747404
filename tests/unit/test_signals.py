"""Stop signals: an interrupt Python had to drop in a finaliser is delivered again."""

import subprocess
import sys

SCRIPT = """
import time
from testbed import signals
signals.redeliver_lost_interrupts()

class Finalised:
    def __del__(self):
        raise KeyboardInterrupt   # as if Ctrl-C came while this ran

try:
    Finalised()
    time.sleep(1)
    print("lost")
except KeyboardInterrupt:
    print("delivered")
"""


def test_interrupt_in_a_finaliser_is_delivered_again():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                            timeout=10)
    assert result.stdout.strip() == "delivered"
    assert result.stderr == ""
