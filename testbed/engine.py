"""The scenario engine: runs tests against a stack and gives each a truthful verdict.

Verdicts:
  pass          the DUT did what the requirement asks
  fail          the DUT behaved against the requirement
  unsupported   the stack cannot do a set-up the test needs (its adapter said so)
  inconclusive  the test could not tell: set-up verification or a positive control got no answer
  crash         the DUT stopped answering its control channel; it was restarted
  error         a fault in the test bed itself (or a DUT set-up that failed)

Every test that expects silence carries a positive control; a DUT that
answers nothing therefore scores no pass at all.
"""

import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

from . import packets, topology
from .capture import Capture
from .errors import ControlError, TestbedError, Unsupported
from .network import Network

VERDICTS = ("pass", "fail", "unsupported", "inconclusive", "crash", "error")
IPV6_SUITES = ("IPv6", "ICMPv6", "IPv6-NDP")


class Verdict(Exception):
    """Ends a test with a verdict other than pass."""

    def __init__(self, verdict, reason):
        super().__init__(reason)
        self.verdict, self.reason = verdict, reason


@dataclass
class Result:
    """One test's outcome, as results.jsonl records it."""

    id: str
    suite: str
    title: str
    reference: str
    classification: str
    topology: str
    role: str
    stack: str
    verdict: str
    reason: str
    duration_s: float
    pcap: str
    send_to_verdict_ms: float | None = None

    def to_json(self):
        """A JSON-able dict."""
        return asdict(self)


class Session:
    """One topology built for conformance tests of one address family, its capture, and
    the DUT's answer time."""

    def __init__(self, topology_name, stack_spec, family, silence=None, logs=None):
        self.topology = topology.load(topology_name).conformance_view()
        self.stack_spec, self.family = stack_spec, family
        self.network = self.capture = None
        self.fixed_silence, self.silence = silence, silence
        self.logs = logs

    def start(self):
        """Build the topology and open the capture."""
        self.network = Network(self.topology, self.stack_spec)
        self.network.start()
        self.capture = Capture(self.network)

    def stop(self):
        """Close the capture and take the topology down."""
        if self.capture is not None:
            self.capture.close()
        if self.network is not None:
            self._keep_stack_log()
            self.network.stop()
        self.network = self.capture = None

    def _keep_stack_log(self):
        """Append what the stack wrote (``stack.log`` in the run's folder) to *logs*."""
        run = self.network.run
        source = run.dir / "stack.log" if run is not None else None
        if self.logs is None or source is None or not source.is_file():
            return
        self.logs.mkdir(parents=True, exist_ok=True)
        with open(self.logs / f"{self.topology.name}-{self.family}.stack.log", "ab") as log:
            log.write(f"--- {run.id} ({self.stack_spec.name})\n".encode())
            log.write(source.read_bytes())

    @property
    def dut(self):
        """The running stack's adapter."""
        return self.network.dut

    def verify(self):
        """Check that the DUT answers on every interface the tester reaches; return a reason or None.

        IPv4 tests ask by ARP, IPv6 tests by Neighbor Solicitation.  The
        slowest answer sets the silence window (20x, within 0.05–1 s), unless the run fixed it.
        """
        latencies, family = [], self.family
        for intf in self.topology.dut.interfaces.values():
            identity = next((i for i in self.topology.identities.values()
                             if self.topology.interface(i.interface).network == intf.network
                             and i.address(family) is not None), None)
            if identity is None or intf.address(family) is None:
                continue
            sent, found = self.ask_dut(identity, intf, 1.0)
            if found is None:
                what = "ARP request" if family == "ipv4" else "Neighbor Solicitation"
                return (f"set-up verification: the DUT did not answer {identity.name}'s {what} "
                        f"for {intf.address(family).ip} on {intf.name} within 1 s")
            latencies.append(found[1].time - sent.time)
        self.silence = self.fixed_silence or min(1.0, max(0.05, 20 * max(latencies,
                                                                           default=0.005)))
        return None

    def ask_dut(self, identity, intf, within):
        """*identity* asks for the DUT's address on *intf* (ARP, or NS for IPv6 sessions).

        Returns (the frame sent, (index, answer) or None if none came *within* s).
        """
        stimulus, answer = packets.resolution_probe(identity, intf, self.family)
        since = self.capture.mark()
        sent = self.capture.send(identity.name, stimulus)
        return sent, self.capture.wait_for(identity.interface, answer, since, within)


class _TestRun:
    """Carries out one test's set-up and steps on a Session."""

    def __init__(self, session, test):
        self.session, self.test = session, test
        self.capture, self.dut = session.capture, session.dut
        self.refs = packets.References(session.topology)
        self.since = self.capture.mark()
        self.first_send = self.decided = None

    def run(self):
        self.capture.answering = self.test.resolve
        self.dut.reset()
        self._role()
        for operation in self.test.setup:
            self._operate(operation, "set-up")
        if self.test.introduce:
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
            network = topo.interface(identity.interface).network
            intf = next((i for i in topo.dut.interfaces.values() if i.network == network), None)
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
        if kind == "send":
            self._send(body)
        elif kind == "expect":
            self._expect(body, control)
        elif kind == "expect_none":
            self._expect_none(body)
        elif kind == "dut":
            self.since = self.capture.mark()
            self._operate(body, "DUT action")
        elif kind == "wait":
            time.sleep(body)
        elif kind == "resolve":
            self.capture.answering = body

    def _send(self, body):
        packet = packets.build(body["packet"], self.refs)
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
        matches, cursor = [], self.since
        deadline = time.monotonic() + within
        while len(matches) < wanted:
            found = self.capture.wait_for(port, expectation.matches, cursor,
                                          max(0.0, deadline - time.monotonic()))
            if found is None:
                reason = self._missing(port, expectation, within, len(matches), wanted)
                raise Verdict("inconclusive" if control else "fail",
                              ("positive control: " if control else "") + reason)
            cursor, frame = found[0] + 1, found[1]
            matches.append(frame)
        spacing = body.get("spacing")
        if spacing is not None:
            gaps = [b.time - a.time for a, b in zip(matches, matches[1:])]
            if gaps and min(gaps) < spacing:
                raise Verdict("fail", f"{expectation.describe()}: frames {min(gaps):.3f} s apart, "
                                      f"expected at least {spacing} s")

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
        port = self.capture.port_of(body["at"])
        expectation = packets.Expectation(body["packet"], self.refs)
        window = body.get("within", self.session.silence)
        found = self.capture.wait_for(port, expectation.matches, self.since, window)
        if found is not None:
            raise Verdict("fail", f"expected nothing matching {expectation.describe()} on {port} "
                                  f"within {window:.2f} s; got {found[1].packet.summary()}")
        for step in body["control"]:
            self._step(step, control=True)


class Runner:
    """Runs tests against one stack, grouping them by topology and address family."""

    def __init__(self, stack_spec, out_dir, silence=None, on_result=None):
        self.stack_spec, self.out = stack_spec, Path(out_dir)
        self.silence, self.on_result = silence, on_result or (lambda result: None)
        (self.out / "pcap").mkdir(parents=True, exist_ok=True)

    def run(self, tests):
        """Run *tests*, one topology build per topology and address family; return Results.

        Tests keep their order within a group; groups come in order of first appearance.
        """
        groups = {}
        for test in tests:
            family = "ipv6" if test.suite in IPV6_SUITES else "ipv4"
            groups.setdefault((test.topology, family), []).append(test)
        results = []
        for (topo, family), group in groups.items():
            results += self._run_group(topo, family, group)
        return results

    def _run_group(self, topo, family, tests):
        session = Session(topo, self.stack_spec, family, self.silence, self.out / "logs")
        results = []
        try:
            try:
                session.start()
            except Unsupported as exc:   # the stack cannot take this topology's baseline
                return [self._record(test, "unsupported", f"set-up: {exc}", 0.0, None)
                        for test in tests]
            reason = session.verify()
            for test in tests:
                if reason is not None:
                    result = self._record(test, "inconclusive", reason, 0.0, None)
                else:
                    result, restarted = self._run_one(session, test)
                    if restarted:
                        reason = session.verify()
                results.append(result)
        except TestbedError as exc:
            for test in tests[len(results):]:
                results.append(self._record(test, "error", f"test bed: {exc}", 0.0, None))
        finally:
            session.stop()
        return results

    def _run_one(self, session, test):
        started = time.monotonic()
        mark = session.capture.mark()
        run = _TestRun(session, test)
        verdict, reason = "pass", ""
        try:
            run.run()
        except Verdict as exc:
            verdict, reason = exc.verdict, exc.reason
        except TestbedError as exc:
            verdict, reason = "error", str(exc)
        except Exception as exc:  # a fault in the test bed: say so, go on
            verdict, reason = "error", f"{exc!r} at {traceback.extract_tb(exc.__traceback__)[-1]}"
        finally:
            session.capture.answering = True
        restarted = False
        if not session.dut.alive():
            verdict, reason = "crash", (f"the DUT stopped answering during this test "
                                        f"({verdict}: {reason})" if reason else
                                        "the DUT stopped answering during this test")
            session.stop()
            session.start()
            restarted = True
        pcap = self.out / "pcap" / f"{test.id}.pcapng"
        if session.capture is not None and not restarted:
            session.capture.write_pcap(pcap, mark)
        send_to_verdict = None
        if verdict == "pass" and run.first_send is not None and run.decided is not None:
            send_to_verdict = round((run.decided - run.first_send) * 1000, 2)
        return self._record(test, verdict, reason, time.monotonic() - started,
                            pcap if pcap.exists() else None, send_to_verdict), restarted

    def _record(self, test, verdict, reason, duration, pcap, send_to_verdict=None):
        result = Result(test.id, test.suite, test.title, test.reference, test.classification,
                        test.topology, test.role, self.stack_spec.name, verdict, reason,
                        round(duration, 4), str(pcap.relative_to(self.out)) if pcap else "",
                        send_to_verdict)
        self.on_result(result)
        return result
