"""A run's identity and state, and removing what a run leaves behind.

Every run has an id ``tb-XXXXXXXX``.  The testbed process puts it in its
environment (``TESTBED_RUN``) before it starts any node, so every process of
the run — node shells, stack processes, whatever they start — carries it,
along with the runs folder it belongs to (``TESTBED_RUNS``, if not the
default): runs of another folder, e.g. a test session's, are never touched.
Each run also has a folder ``/run/testbed/<id>/`` with ``state.json``.
``sweep`` ends the processes carrying a run's marker and everything else in
its namespaces; nodes' namespaces, links and bridges vanish with them.  No
process without the marker or outside the run's namespaces is ever touched.
"""

import json
import os
import shutil
import signal
import time

from . import paths, signals
from .errors import EnvironmentProblem, TestbedError

MARKER = "TESTBED_RUN"
PREFIX = "tb-"


def _start_time(pid):
    """The start time of *pid* in clock ticks since boot, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return int(stat.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


class Run:
    """One run: its id, its folder and its published state."""

    def __init__(self, run_id, directory):
        self.id, self.dir = run_id, directory

    @classmethod
    def create(cls, topology, stack):
        """A new run owned by this process, with its folder made."""
        run_id = PREFIX + os.urandom(4).hex()   # (secrets would add ~5 ms to start-up)
        directory = paths.RUNS / run_id
        directory.mkdir(parents=True, mode=0o700)
        run = cls(run_id, directory)
        try:
            run._write({"id": run_id, "owner": os.getpid(),
                        "owner_start": _start_time(os.getpid()),
                        "topology": topology, "stack": stack, "created": time.time()})
        except BaseException:
            run.remove()
            raise
        return run

    @classmethod
    def all(cls):
        """Every run that has a folder, oldest first."""
        if not paths.RUNS.is_dir():
            return []
        runs = [cls(d.name, d) for d in paths.RUNS.iterdir()
                if d.is_dir() and d.name.startswith(PREFIX)]
        return sorted(runs, key=lambda r: r.state.get("created", 0))

    @property
    def state(self):
        """The published state (empty if unreadable)."""
        try:
            return json.loads((self.dir / "state.json").read_text())
        except (OSError, ValueError):
            return {}

    def _write(self, state):
        tmp = self.dir / "state.json.tmp"
        tmp.write_text(json.dumps(state, indent=1))
        tmp.replace(self.dir / "state.json")

    def save(self, extra):
        """Merge *extra* into the published state."""
        self._write({**self.state, **extra, "ready": True})

    @property
    def alive(self):
        """True while the process that owns the run is still running."""
        state = self.state
        owner = state.get("owner")
        return (owner is not None and _start_time(owner) == state.get("owner_start")
                and _live(owner))

    def remove(self):
        """Delete the run's folder."""
        shutil.rmtree(self.dir, ignore_errors=True)


def _netns(pid):
    try:
        return os.readlink(f"/proc/{pid}/ns/net")
    except OSError:
        return None


def _marker(pid):
    """The run id in *pid*'s environment, if the run belongs to this runs folder."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as env:
            items = dict(item.split(b"=", 1) for item in env.read().split(b"\0") if b"=" in item)
    except OSError:
        return None
    run_id = items.get(MARKER.encode())
    runs = items.get(paths.RUNS_VARIABLE.encode(), paths.DEFAULT_RUNS.encode())
    if run_id is None or runs.decode(errors="replace") != str(paths.RUNS):
        return None      # another installation's or test session's run: not ours
    return run_id.decode(errors="replace")


def _pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]


def namespaces_of(pids):
    """The network namespaces of *pids*, never the host's own."""
    host = {_netns(1), _netns(os.getpid())}
    return {ns for ns in map(_netns, pids) if ns and ns not in host}


def marked():
    """{run id: [pids]} of every process carrying a run marker."""
    found = {}
    for pid in _pids():
        run_id = _marker(pid)
        if run_id and run_id.startswith(PREFIX):
            found.setdefault(run_id, []).append(pid)
    return found


def sweep(run_id, namespaces=(), timeout=3.0):
    """Kill every process of *run_id* and every process in *namespaces*; return their pids.

    A namespace where a process of another run lives is spared: the kernel
    gives a dead namespace's number to the next one created, so a number a
    dead run recorded may by now name a namespace of a run side by side.
    """
    processes = {pid: (_marker(pid), _netns(pid)) for pid in _pids()}
    foreign = {ns for marker, ns in processes.values()
               if marker and marker.startswith(PREFIX) and marker != run_id}
    namespaces = (set(namespaces) - foreign) | namespaces_of(
        pid for pid, (marker, _) in processes.items() if marker == run_id)
    victims = [pid for pid, (marker, ns) in processes.items()
               if marker == run_id or ns in namespaces]
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_live(pid) for pid in victims):
        time.sleep(0.01)
    return victims


def _live(pid):
    """True if *pid* exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


def clean(include_live=False):
    """Remove what dead runs left behind (all runs with *include_live*); return a report."""
    report = []
    processes = marked()
    runs = {run.id: run for run in Run.all()}
    for run_id in sorted(set(runs) | set(processes)):
        run = runs.get(run_id)
        if run is not None and run.alive and not include_live:
            continue
        report.append((run_id, len(take_down(run_id, run)[1])))
    return report


def take_down(run_id, run=None):
    """Stop a run's owner if alive, kill what is left of the run, remove its folder.

    Returns (whether the owner stopped by itself, the pids killed).  The
    namespaces are read first: a stopping owner removes its state.
    """
    namespaces = run.state.get("namespaces", ()) if run else ()
    stopped = run is None or not run.alive or stop_owner(run)
    killed = sweep(run_id, namespaces)
    if run is not None:
        run.remove()
    return stopped, killed


def stop_owner(run, timeout=5.0):
    """Ask a run's owner to stop (SIGTERM), and wait for it; True if it ended."""
    owner = run.state.get("owner")
    try:
        os.kill(owner, signal.SIGTERM)
    except (ProcessLookupError, TypeError):
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not run.alive:
            return True
        time.sleep(0.02)
    return False


class DetachedStartFailed(TestbedError):
    """A detached run could not start; carries the exit code the daemon chose."""

    def __init__(self, message, exit_code):
        super().__init__(message)
        self.exit_code = exit_code




def detach(start, meanwhile=None):
    """Hold a run in a daemon of its own; return its report once it is ready.

    The daemon (forked first thing, so *meanwhile()*, the parent's own work,
    overlaps its start) calls *start()*, which builds what the run holds and
    returns ``(holder, report)``: *holder* has ``run`` (a Run) and ``stop()``,
    *report* is JSON-able.  The daemon then writes its output to the run's
    ``daemon.log`` and holds until SIGTERM, SIGINT or SIGHUP, when it stops
    the holder.  A failure to start raises DetachedStartFailed here.
    """
    read_end, write_end = os.pipe()
    if os.fork() == 0:
        os.close(read_end)
        os.setsid()
        _hold(start, write_end)
    os.close(write_end)
    if meanwhile is not None:
        meanwhile()
    with os.fdopen(read_end) as pipe:
        message = pipe.read()
    if not message:
        raise EnvironmentProblem("the background run died while starting")
    report = json.loads(message)
    if "error" in report:
        raise DetachedStartFailed(report["error"], report["code"])
    return report


def _hold(start, ready_fd):
    """The daemon: start, report on *ready_fd*, hold until a stop signal, stop; never returns."""
    signal.pthread_sigmask(signal.SIG_BLOCK, signals.STOP_SIGNALS)
    os.dup2(os.open(os.devnull, os.O_RDWR), 0)
    holder = None
    try:
        os.dup2(0, 1)
        os.dup2(0, 2)
        holder, report = start()
        with open(holder.run.dir / "daemon.log", "w") as log:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
    except BaseException as exc:  # the parent must hear of any failure
        code = exc.exit_code if isinstance(exc, TestbedError) else 3
        text = str(exc) if isinstance(exc, TestbedError) else f"start failed: {exc!r}"
        os.write(ready_fd, json.dumps({"error": text, "code": code}).encode())
        if holder is not None:
            holder.stop()
        os._exit(code)
    os.write(ready_fd, json.dumps(report).encode())
    os.close(ready_fd)
    try:
        signal.sigwait(signals.STOP_SIGNALS)
    finally:
        holder.stop()
        os._exit(0)
