"""The scenario engine: runs tests against a stack and gives each a truthful verdict.

The verdicts and what each claims are in ``results.py``.  Every test that
expects silence carries a positive control; a DUT that answers nothing
therefore scores no pass at all.
"""

import multiprocessing
import os
import queue
import time
import traceback
from contextlib import contextmanager
from pathlib import Path

from . import expected as expectations, packets, report, runstate, signals, topology
from .capture import Capture
from .errors import ControlError, TestbedError, Unsupported
from .network import Emulation
from .results import Result, ResultsFile, Verdict


class Session:
    """One topology built for conformance tests of one address family, its capture, and
    the DUT's answer time."""

    def __init__(self, topology_name, manifest, family, silence=None, logs=None):
        self.topology = topology.load(topology_name).conformance_view()
        self.manifest, self.family = manifest, family
        self.emulation = self.capture = None
        self.fixed_silence, self.silence = silence, silence
        self.logs, self.note, self.probe = logs, "", None

    def start(self):
        """Build the topology and open the capture."""
        self.emulation = Emulation(self.topology, self.manifest)
        self.emulation.start()
        self.capture = Capture(self.emulation)

    def stop(self):
        """Close the capture and take the topology down (stop signals wait until it is)."""
        with signals.held():
            try:
                if self.capture is not None:
                    self.capture.close()
            finally:
                if self.emulation is not None:
                    self._keep_stack_log()
                    self.emulation.stop()
                self.emulation = self.capture = None

    def _keep_stack_log(self):
        """Append what the stack wrote (``stack.log`` in the run's folder) to *logs*."""
        run = self.emulation.run
        source = run.dir / "stack.log" if run is not None else None
        if self.logs is None or source is None or not source.is_file():
            return
        self.logs.mkdir(parents=True, exist_ok=True)
        with open(self.logs / f"{self.topology.name}-{self.family}.stack.log", "ab") as log:
            log.write(f"--- {run.id} ({self.manifest.name})\n".encode())
            log.write(source.read_bytes())

    @property
    def dut(self):
        """The running stack's adapter."""
        return self.emulation.dut

    def verify(self):
        """Check that the DUT answers on every interface the tester reaches; return a reason
        why the group cannot run (its tests are then *inconclusive*), or None.

        IPv4 groups ask by ARP, IPv6 groups by Neighbor Solicitation.  A DUT
        that does not answer may still be alive (told never to answer ARP, or
        broken in resolution alone): then it must *fail* the tests that need
        an answer, not be excused.  So a silent interface is asked for a sign
        of life: the DUT pings the identity through its contract, and the
        tester must see a frame from that interface.  If it does, the group
        runs and ``note`` says what set-up saw; if not, nothing shows the DUT
        or its link alive, and the group is inconclusive.  The slowest answer
        sets the silence window (20x, within 0.05–1 s), unless the run fixed it.
        """
        latencies, family, self.note, self.probe = [], self.family, "", None
        what = "ARP request" if family == "ipv4" else "Neighbor Solicitation"
        for intf in self.topology.dut.interfaces.values():
            identity = next((i for i in self.topology.identities.values()
                             if self.topology.dut_interface_facing(i) is intf
                             and i.address(family) is not None), None)
            if identity is None or intf.address(family) is None:
                continue
            sent, found = self.ask_dut(identity, intf, 1.0)
            if found is not None:
                latencies.append(found[1].time - sent.time)
                self.probe = self.probe or (identity, intf)
                continue
            unanswered = (f"the DUT did not answer {identity.name}'s {what} for "
                          f"{intf.address(family).ip} on {intf.name} within 1 s")
            life = self._sign_of_life(identity, intf)
            if life is None:
                return (f"set-up verification: {unanswered}, and the tester saw no frame from "
                        f"{intf.name} at all (nor when the DUT was asked to ping "
                        f"{identity.name}): no sign of life")
            self.note += f"set-up: {unanswered}, though it is alive: it sent {life}"
        self.silence = self.fixed_silence or min(1.0, max(0.05, 20 * max(latencies,
                                                                           default=0.005)))
        return None

    def _sign_of_life(self, identity, intf):
        """The first frame the tester saw from *intf* since the capture opened, after asking
        the DUT to ping *identity* where its stack can; described, or None."""
        if self.dut.supports("ping", self.family):
            try:
                self.dut.ping(identity.address(self.family).ip, count=1, timeout=0.3)
            except TestbedError:
                pass
        found = self.capture.wait_for(identity.interface, lambda f: f.src == intf.mac, 0, 0.3)
        return None if found is None else found[1].packet.summary()

    def data_path_alive(self):
        """True if the DUT still answers the ARP request (NS) that set-up saw it answer, at
        once or after a reset (a test may have left an interface down); True as well when
        set-up saw no answer to ask for again."""
        if self.probe is None:
            return True
        identity, intf = self.probe
        if self.ask_dut(identity, intf, 0.2)[1] is not None:
            return True
        self.dut.reset()
        return self.ask_dut(identity, intf, 1.0)[1] is not None

    def ask_dut(self, identity, intf, within):
        """*identity* asks for the DUT's address on *intf* (ARP, or NS for IPv6 sessions).

        Returns (the frame sent, (index, answer) or None if none came *within* s).
        """
        stimulus, answer = packets.resolution_probe(identity, intf, self.family)
        since = self.capture.mark()
        sent = self.capture.send(identity.name, stimulus)
        return sent, self.capture.wait_for(identity.interface, answer, since, within)


class _Execution:
    """Carries out one test's set-up and steps on a Session."""

    def __init__(self, session, test):
        self.session, self.test = session, test
        self.capture, self.dut = session.capture, session.dut
        self.refs = packets.References(session.topology)
        self.since = self.capture.mark()
        self.first_send = self.decided = None
        self.matched = set()     # capture indexes of the frames that decided expectations
        self.phases = Phases()

    def carry_out(self):
        """Reset the DUT, set it up, introduce the senders, then take the steps."""
        self.capture.answer_resolution(self.test.resolve)
        with self.phases("reset"):
            self.dut.reset()
            self._role()
        with self.phases("setup"):
            for operation in self.test.setup:
                self._operate(operation, "set-up")
        if self.test.introduce:
            with self.phases("introduce"):
                self._introduce()
        for step in self.test.steps:
            self._step(step)
        self.decided = time.monotonic()

    def _role(self):
        want = set(("ipv4", "ipv6") if self.test.role == "router" else ())
        for family in ("ipv4", "ipv6"):
            if (family in want) != (family in self.session.topology.dut.forwarding):
                self._operate({"set_forwarding": {"family": family,
                                                  "enabled": family in want}}, "role")

    def _introduce(self):
        """Each identity that sends in the test first asks the DUT for its address (ARP/NS).

        A real host resolves the DUT before its first unicast packet, and the
        DUT learns the host from that request (RFC 826; RFC 4861 §7.2.3), so
        an answer the DUT sends back needs no resolution of its own.  Without
        this, a stack that drops a packet while resolving (RFC 1122 §2.3.2.2
        only says SHOULD queue) would look silent where a test expects
        silence, and would fail answer tests for a reason outside them.
        The ARP suite, which tests the cache itself, opts out.
        """
        topo, family = self.session.topology, self.session.family
        senders = dict.fromkeys(step["send"]["from"] for step in self.test.steps
                                if "send" in step)
        for name in senders:
            identity = topo.identities[name]
            intf = topo.dut_interface_facing(identity)
            if intf is None or intf.address(family) is None or identity.address(family) is None:
                continue
            self.session.ask_dut(identity, intf, self.session.silence)
        self.since = self.capture.mark()

    def _operate(self, operation, stage):
        (name, args), = operation.items()
        try:
            return getattr(self.dut, name)(**self.refs.resolve(args or {}))
        except Unsupported as exc:
            raise Verdict("unsupported", f"{stage}: {exc}") from None
        except ControlError as exc:
            raise Verdict("error", f"{stage}: could not configure the DUT: {exc}") from None

    def _step(self, step, control=False):
        (kind, body), = step.items()
        with self.phases("control" if control else STEP_PHASES[kind]):
            if kind == "send":
                self._send(body)
            elif kind == "expect":
                self._expect(body, control)
            elif kind == "expect_none":
                self._expect_none(body)
            elif kind == "expect_fragments":
                self._expect_fragments(body, control)
            elif kind == "dut":
                self.since = self.capture.mark()
                self._operate(body, "DUT action")
            elif kind == "wait":
                time.sleep(body)
            elif kind == "resolve":
                self.capture.answer_resolution(body)

    def _send(self, body):
        packet = packets.build(body["packet"], self.refs, body["from"])
        self.since = self.capture.mark()
        for number in range(body.get("count", 1)):
            if number:
                time.sleep(body.get("interval", 0))
            self.capture.send(body["from"], packet)
        if self.first_send is None:
            self.first_send = time.monotonic()

    def _expect(self, body, control):
        port = self.capture.port_of(body["at"])
        expectation = packets.Expectation(body["packet"], self.refs)
        within, wanted = body.get("within", 1.0), body.get("count", 1)
        matches = self._collect(port, expectation.matches, within,
                                lambda frames: len(frames) >= wanted)
        if len(matches) < wanted:
            raise _missing_verdict(control, self._missing(port, expectation, within,
                                                          len(matches), wanted))
        spacing = body.get("spacing")
        if spacing is not None:
            gaps = [b.time - a.time for a, b in zip(matches, matches[1:])]
            if gaps and min(gaps) < spacing:
                raise Verdict("fail", f"{expectation.describe()}: frames {min(gaps):.3f} s apart, "
                                      f"expected at least {spacing} s")
        for name in body.get("distinct", ()):
            values = [packets.field_of(frame.packet, name) for frame in matches]
            if len(set(values)) < len(values):
                raise Verdict("fail", f"{expectation.describe()}: {name} not distinct across "
                                      f"the {len(values)} frames: {values}")

    def _expect_fragments(self, body, control):
        """The fragments of one datagram matching ``packet`` must arrive within ``within`` s
        and cover its ``total`` payload octets exactly (packets.Fragments); then the
        positive control, if any, must draw its answer."""
        port = self.capture.port_of(body["at"])
        expectation = packets.Expectation(body["packet"], self.refs)
        within, total = body.get("within", 1.0), body["total"]
        pieces = packets.Fragments(total, body.get("mtu"))
        self._collect(port, lambda f: expectation.matches(f) and pieces.belongs(f), within,
                      lambda frames: pieces.complete(), take=lambda f: pieces.add(f.packet))
        if not pieces.complete():
            raise _missing_verdict(control, f"expected the fragments of a datagram of {total} "
                                            f"octets ({expectation.describe()}) on {port} "
                                            f"within {within:g} s; {pieces.describe()}")
        problem = pieces.problem()
        if problem:
            raise Verdict("fail", f"fragments of {expectation.describe()}: {problem}")
        if "control" in body:
            self._control(body["control"])

    def _collect(self, port, match, within, enough, take=None):
        """The frames on *port* since the last stimulus that *match* accepts, taken as they
        come (each handed to *take*, and marked as deciding) until *enough(frames)* or
        until *within* s have passed (by the frames' arrival times: see capture.py)."""
        frames, cursor = [], self.since
        deadline, until = time.monotonic() + within, time.time() + within
        while not enough(frames):
            found = self.capture.wait_for(port, match, cursor,
                                          max(0.0, deadline - time.monotonic()), until)
            if found is None:
                break
            cursor = found[0] + 1
            frames.append(found[1])
            self.matched.add(found[0])
            if take is not None:
                take(found[1])
        return frames

    def _missing(self, port, expectation, within, got, wanted):
        """Why an expectation failed: what was expected, and the closest frame seen."""
        seen = self.capture.received(port, self.since)
        head = f"expected {expectation.describe()} on {port} within {within:g} s"
        if wanted > 1:
            head += f" ({wanted} times; {got} seen)"
        if not seen:
            return head + "; got nothing"
        closest = min((expectation.mismatches(f.packet) for f in seen), key=len)
        return head + "; closest: " + ", ".join(closest[:4])

    def _expect_none(self, body):
        """No frame matching ``packet`` within the window (with ``count: N``, fewer than
        N of them); then the positive control must draw its answer."""
        port = self.capture.port_of(body["at"])
        expectation = packets.Expectation(body["packet"], self.refs)
        window, limit = body.get("within", self.session.silence), body.get("count", 1)
        found = self._collect(port, expectation.matches, window,
                              lambda frames: len(frames) >= limit)
        if len(found) == limit:
            head = "nothing" if limit == 1 else f"fewer than {limit} frames"
            raise Verdict("fail", f"expected {head} matching {expectation.describe()} on {port} "
                                  f"within {window:.2f} s; got {found[-1].packet.summary()}"
                                  + (f" ({limit} of them)" if limit > 1 else ""))
        self._control(body["control"])

    def _control(self, steps):
        """Run a positive control's *steps*: an answer they miss makes the test inconclusive."""
        self.phases.leave()        # the rest is the control's time, not the step's
        for step in steps:
            self._step(step, control=True)


class Group:
    """One topology built for a group of tests of one stack and family (Runner.open_group).

    When the group cannot run a test (the stack cannot take the topology, the
    DUT does not answer set-up verification, the test bed failed), every test
    from then on gets that verdict and reason instead.
    """

    def __init__(self, runner, topology_name, family):
        self.runner = runner
        self.session = Session(topology_name, runner.manifest, family, runner.silence,
                               runner.out / "logs")
        self.cannot = None         # (verdict, reason) given to every test from now on
        try:
            self.session.start()
        except Unsupported as exc:   # the stack cannot take this topology's baseline
            self.cannot = ("unsupported", f"set-up: {exc}")
        except TestbedError as exc:
            self.cannot = ("error", f"test bed: {exc}")
        except BaseException:
            self.session.stop()
            raise
        else:
            self._verify()

    def run(self, test):
        """Run *test* on the group's topology; its Result."""
        if self.cannot is None:
            try:
                result, restarted = self.runner._run_one(self.session, test)
            except TestbedError as exc:
                self.cannot = ("error", f"test bed: {exc}")
            else:
                if restarted:         # the DUT crashed and was started again
                    self._verify()
                return result
        return self.runner._record(test, *self.cannot, 0.0, None)

    def _verify(self):
        """Set-up verification: a silent DUT makes the tests inconclusive."""
        try:
            reason = self.session.verify()
        except TestbedError as exc:
            self.cannot = ("error", f"test bed: {exc}")
            return
        if reason is not None:
            self.cannot = ("inconclusive", reason)

    def close(self):
        """Take the topology down."""
        self.session.stop()


# The phase each kind of step's time counts under (results.PHASES).
STEP_PHASES = {"send": "send", "expect": "answer", "expect_fragments": "answer",
               "expect_none": "silence", "dut": "dut", "wait": "wait", "resolve": "send"}


class Phases:
    """Seconds spent per phase of a test (results.PHASES); ``with phases(name):`` times one.

    Phases nest: time spent in an inner phase is not counted in the outer one.
    """

    def __init__(self):
        self.seconds = {}
        self._open = []          # [name or None, counted up to], innermost last

    @contextmanager
    def __call__(self, name):
        self._settle()
        self._open.append([name, time.monotonic()])
        try:
            yield
        finally:
            self._settle()
            self._open.pop()
            if self._open:
                self._open[-1][1] = time.monotonic()

    def leave(self):
        """End the innermost phase here, though its block runs on (the rest counts nowhere)."""
        self._settle()
        self._open[-1][0] = None

    def _settle(self):
        """Count the innermost phase's time up to now."""
        if self._open:
            name, since = self._open[-1]
            now = time.monotonic()
            if name is not None:
                self.seconds[name] = self.seconds.get(name, 0.0) + now - since
            self._open[-1][1] = now

    def rounded(self):
        """{phase: seconds}, to the tenth of a millisecond."""
        return {name: round(value, 4) for name, value in self.seconds.items()}


def _missing_verdict(control, reason):
    """A missing answer: *fail*, or *inconclusive* when it was a positive control's."""
    return Verdict("inconclusive" if control else "fail",
                   ("positive control: " if control else "") + reason)


class Runner:
    """Runs tests against one stack, grouping them by topology and address family."""

    def __init__(self, manifest, out_dir, silence=None, on_result=None):
        self.manifest, self.out = manifest, Path(out_dir)
        self.silence, self.on_result = silence, on_result or (lambda result: None)
        (self.out / "pcap").mkdir(parents=True, exist_ok=True)

    def execute(self, tests, jobs=1):
        """Run *tests*, one topology build per topology and address family; return Results.

        Tests keep their order within a group; groups come in order of first
        appearance.  With *jobs* > 1 the groups, cut into pieces of about
        equal size, run in that many processes side by side, each piece in
        namespaces of its own; results come back in the order of *tests*.
        """
        groups = {}
        for test in tests:
            groups.setdefault((test.topology, test.family), []).append(test)
        if jobs <= 1:
            return [result for (topo, family), group in groups.items()
                    for result in self._run_group(topo, family, group)]
        return self._execute_side_by_side(groups, jobs, [test.id for test in tests])

    def _execute_side_by_side(self, groups, jobs, order):
        """Run pieces of *groups* in *jobs* worker processes; stream their results to
        on_result.  However the run ends, every worker has ended when this returns."""
        context = multiprocessing.get_context("spawn")   # no threads or locks inherited
        _start_resource_tracker_quietly()
        pieces, finished = context.Queue(), context.Queue()
        pieces.cancel_join_thread()   # pieces no worker took are moot: never wait to send them
        for piece in _pieces(groups, jobs):
            pieces.put(piece)
        workers = [context.Process(target=_worker, name=f"piece-worker-{n}", daemon=True,
                                   args=(self.manifest, self.out, self.silence, pieces, finished))
                   for n in range(jobs)]
        results = []
        try:
            for worker in workers:
                pieces.put(None)              # one "no more pieces" for each worker
                worker.start()
            while len(results) < len(order):
                try:
                    result = finished.get(timeout=0.5)
                except queue.Empty:
                    if not any(worker.is_alive() for worker in workers):
                        raise TestbedError(f"the run's workers ended with {len(results)} of "
                                           f"{len(order)} results") from None
                    continue
                self.on_result(result)
                results.append(result)
        except BaseException:     # Ctrl-C, a signal, a failure: every piece unwinds
            _end_workers(workers, ask=True)
            raise
        _end_workers(workers, ask=False)   # they are leaving: told there are no more pieces
        position = {test_id: n for n, test_id in enumerate(order)}
        return sorted(results, key=lambda result: position[result.id])

    def open_group(self, topology_name, family):
        """Build *topology_name* for tests of *family*; a Group runs them one at a time."""
        return Group(self, topology_name, family)

    def _run_group(self, topo, family, tests):
        group = self.open_group(topo, family)
        try:
            return [group.run(test) for test in tests]
        finally:
            group.close()

    def _run_one(self, session, test):
        started = time.monotonic()
        mark = session.capture.mark()
        execution = _Execution(session, test)
        verdict, reason = "pass", ""
        try:
            execution.carry_out()
        except Verdict as exc:
            verdict, reason = exc.verdict, exc.reason
        except TestbedError as exc:
            verdict, reason = "error", str(exc)
        except Exception as exc:  # a fault in the test bed: say so, go on
            verdict, reason = "error", f"{exc!r} at {traceback.extract_tb(exc.__traceback__)[-1]}"
        finally:
            session.capture.answer_resolution(True)
        if verdict != "pass" and session.note:
            reason += f" ({session.note})"
        pcap = self.out / "pcap" / f"{test.id}.pcapng"
        with execution.phases("record"):
            session.capture.write_pcap(pcap, mark)
            ladder = session.capture.ladder(mark, execution.matched)
        crashed = None
        with execution.phases("health"):
            if not session.dut.alive():
                crashed = "the DUT stopped answering during this test"
            elif not session.data_path_alive():
                crashed = (f"the DUT stopped answering {session.probe[0].name}'s "
                           f"{'ARP request' if session.family == 'ipv4' else 'Neighbor Solicitation'}"
                           " after this test, even after a reset: its data path died, though its "
                           "control channel answers")
        restarted = crashed is not None
        if restarted:
            verdict, reason = "crash", f"{crashed} ({verdict}: {reason})" if reason else crashed
            session.stop()
            session.start()
        send_to_verdict = None
        if verdict == "pass" and execution.first_send is not None and execution.decided is not None:
            send_to_verdict = round((execution.decided - execution.first_send) * 1000, 2)
        return self._record(test, verdict, reason, time.monotonic() - started,
                            pcap if pcap.exists() else None, send_to_verdict, ladder,
                            execution.phases.rounded()), restarted

    def _record(self, test, verdict, reason, duration, pcap, send_to_verdict=None,
                ladder=(None, 0), phases=None):
        result = Result(test.id, test.suite, test.title, test.reference, test.classification,
                        test.topology, test.role, self.manifest.name, verdict, reason,
                        round(duration, 4), str(pcap.relative_to(self.out)) if pcap else "",
                        send_to_verdict, test.description, *ladder, phases)
        self.on_result(result)
        return result


WORKER_GRACE = 15.0   # seconds a worker has to take its piece down before it is killed


def _worker(manifest, out, silence, pieces, finished):
    """A worker process: run pieces until told there are no more, each result to *finished*.

    A termination signal (the parent's, when the run ends early) unwinds the
    piece at hand, whose session is taken down on the way, and ends the worker.
    """
    signals.exit_on_termination()
    runner = Runner(manifest, out, silence, finished.put)
    try:
        for topo, family, tests in iter(pieces.get, None):
            runner._run_group(topo, family, tests)
    except (KeyboardInterrupt, SystemExit):
        os._exit(1)       # the piece is down; what is left in the queues is the parent's


def _start_resource_tracker_quietly():
    """Start multiprocessing's resource tracker (once a process) with its stderr on
    /dev/null and no run marker: it removes the semaphores of the worker queues an
    interrupted run leaves, and would otherwise warn of them on the user's terminal."""
    from multiprocessing import resource_tracker
    marker = os.environ.pop(runstate.MARKER, None)
    saved, quiet = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(quiet, 2)
        resource_tracker.ensure_running()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(quiet)
        if marker is not None:
            os.environ[runstate.MARKER] = marker


def _end_workers(workers, ask):
    """Wait WORKER_GRACE s for the workers to end (having asked them, SIGTERM, if *ask*),
    then kill any left."""
    for worker in workers:
        if ask and worker.pid is not None and worker.is_alive():
            worker.terminate()
    deadline = time.monotonic() + WORKER_GRACE
    for worker in (w for w in workers if w.pid is not None):     # those started
        worker.join(max(0.0, deadline - time.monotonic()))
        if worker.is_alive():
            worker.kill()
            worker.join()


PIECES_PER_JOB = 2       # ends even out
TEST_OVERHEAD = 0.3      # seconds a test takes beyond its wait steps, for planning pieces


def _estimate(test):
    """The seconds *test* is likely to take: its wait steps and a little more."""
    return TEST_OVERHEAD + test.waits


def _pieces(groups, jobs):
    """Cut *groups* ({(topology, family): tests}) into (topology, family, tests) pieces of
    about equal expected time, longest first, so that the pieces' ends come together:
    a test that waits out a long timer (IPV6-3.25's 60 s) starts first, in a piece
    of its own, while the others share out the rest."""
    budget = sum(_estimate(t) for group in groups.values() for t in group) / (
        PIECES_PER_JOB * jobs)
    pieces = []
    for (topo, family), group in groups.items():
        current, spent = [], 0.0
        for test in group:
            if current and spent + _estimate(test) > budget:
                pieces.append((spent, (topo, family, current)))
                current, spent = [], 0.0
            current.append(test)
            spent += _estimate(test)
        if current:
            pieces.append((spent, (topo, family, current)))
    return [piece for _, piece in sorted(pieces, key=lambda p: -p[0])]


def run_tests(tests, manifest, out, silence=None, on_result=None, expected=None, jobs=1):
    """The whole pipeline of ``testbed run``: run *tests* against the stack of *manifest*
    (*jobs* pieces side by side, see ``Runner.execute``),
    append each result to ``out/results.jsonl`` as it ends, then write ``junit.xml`` and
    ``summary.md`` (set against *expected* verdicts, if given); return the Results.

    The CLI, the tests and the benchmarks all run suites through this one function.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results_file = ResultsFile(out / "results.jsonl")

    def recorded(result):
        results_file.add(result)
        if on_result is not None:
            on_result(result)
    try:
        results = Runner(manifest, out, silence, recorded).execute(tests, jobs)
    finally:
        results_file.close()
    report.write_junit(results, out / "junit.xml")
    report.write_summary(results, out / "summary.md",
                         None if expected is None else expectations.compare(results, expected))
    if expected is not None:       # what the run was held to, for reports made later
        expectations.save_copy(out / "expected.json", expected)
    return results
