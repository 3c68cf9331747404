"""Stop signals: Ctrl-C (SIGINT), SIGTERM and SIGHUP.

The kernel hands a process-wide signal to any thread that does not block it,
and Python then raises in the main thread at whatever it is doing: ``held``
defers them while a run is taken down, and the test bed's own threads block
them for good (``main_thread_only``), so they wake the main thread.  A
Ctrl-C that lands in a finaliser (``__del__``) would be printed and lost:
``redeliver_lost_interrupts`` delivers it again.
"""

import _thread
import os
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
    """Hold the stop signals until the body is done, then act on any that came.

    Done with Python-level handlers, not the thread's signal mask: a thread
    the test bed did not start (multiprocessing's queue feeder) may be the one
    the kernel hands the signal to.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    came = []
    previous = {signum: signal.signal(signum, lambda signum, _frame: came.append(signum))
                for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in came:
            signal.raise_signal(signum)


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


def exit_soon(code, within):
    """Make sure the process ends with *code* within *within* seconds, even if its exit hangs."""
    def force():
        time.sleep(within)
        sys.stderr.flush()
        os._exit(code)
    threading.Thread(target=force, name="exit-watchdog", daemon=True).start()
