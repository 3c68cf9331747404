"""Stop signals: Ctrl-C (SIGINT), SIGTERM and SIGHUP.

The kernel hands a process-wide signal to any thread that does not block it,
and Python then raises in the main thread at whatever it is doing.  So the
main thread can only hold these signals while it tears a run down if every
other thread of the test bed blocks them for good: ``main_thread_only`` at a
thread's start.  And a Ctrl-C that lands in a finaliser (``__del__``) would
be printed and lost; ``redeliver_lost_interrupts`` delivers it again.
"""

import _thread
import signal
import sys
import threading
import time
from contextlib import contextmanager

STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP})


def main_thread_only():
    """Block the stop signals in the calling (non-main) thread: they go to the main thread."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)


@contextmanager
def held():
    """Hold the stop signals in the main thread until the body is done."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def exit_on_termination():
    """Make SIGTERM and SIGHUP unwind the stack (so teardown runs) and exit 128+signal.

    Not as KeyboardInterrupt: Mininet's console catches that and carries on.
    """
    def handler(signum, _frame):
        raise SystemExit(128 + signum)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, handler)


def redeliver_lost_interrupts():
    """Deliver again a Ctrl-C that Python had to drop because it came in a finaliser."""
    default = sys.unraisablehook

    def hook(unraisable):
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            # From another thread a moment later: it must land after the hook returned.
            _thread.start_new_thread(_interrupt_main_soon, ())
        else:
            default(unraisable)
    sys.unraisablehook = hook


def _interrupt_main_soon():
    time.sleep(0.005)
    _thread.interrupt_main()
