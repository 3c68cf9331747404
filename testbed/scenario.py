"""Scenario files: conformance tests as data (``scenarios/<suite>/*.yaml``).

Files are loaded safely, checked against ``scenario.schema.json`` and then
for meaning — unique ids, known layers, resolvable ``$`` references, known
identities and contract operations — so that a malformed file fails at load
time with one ``file:line: problem`` message, never during a run.
"""

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from . import packets, paths, schemas, suites, topology, yamlsource
from .errors import InputError
from .stacks import contract

OPERATIONS = {name: op.signature for name, op in contract.OPERATIONS.items() if op.scenario}


@dataclass
class Test:
    """One conformance test: what it claims, how the DUT is set up, and its steps."""

    id: str
    suite: str
    title: str
    rfc: int
    section: str
    classification: str
    topology: str
    role: str
    steps: list
    family: str = "ipv4"     # the session's: the DUT is verified by ARP (ipv4) or NS (ipv6)
    setup: list = field(default_factory=list)
    resolve: bool = True
    introduce: bool = True
    description: str = ""
    page: int | None = None
    source: str = ""

    @property
    def waits(self):
        """The seconds its wait steps add up to (what it costs at least, beyond packets)."""
        return sum(body for step in self.steps for kind, body in step.items() if kind == "wait")

    @property
    def reference(self):
        """ "RFC 826, Packet Reception, p.5"."""
        text = f"RFC {self.rfc}, {self.section}"
        return text + (f", p.{self.page}" if self.page else "")

    def metadata(self):
        """What `testbed list scenarios --json` and results.jsonl carry."""
        return {"id": self.id, "suite": self.suite, "title": self.title,
                "reference": self.reference, "classification": self.classification,
                "topology": self.topology, "role": self.role, "family": self.family,
                "source": self.source}


def load_file(path, known_ids=None, views=None):
    """The tests of one scenario file.

    *known_ids* and *views* carry what files loaded together share: the ids seen
    so far, and each topology's conformance view, loaded once.
    """
    data = yamlsource.load(path)
    if not isinstance(data, dict):
        raise InputError("a scenario file must be a mapping with suite and tests", path, 1)
    schemas.validate(data, path, "scenario")
    folder = suites.BY_FOLDER.get(Path(path).parent.name)
    if folder is not None and folder.name != data["suite"]:
        raise InputError(f"suite {data['suite']!r} in the folder of suite {folder.name} "
                         f"(scenarios/{folder.folder}/)", path, yamlsource.line_at(data, ["suite"]))
    tests = []
    known_ids = {} if known_ids is None else known_ids
    views = {} if views is None else views
    for index, spec in enumerate(data["tests"]):
        where = ["tests", index]

        def fail(message, *more, _where=where):
            raise InputError(message, path, yamlsource.line_at(data, [*_where, *more]))

        if spec["id"] in known_ids:
            fail(f"duplicate test id {spec['id']} (also in {known_ids[spec['id']]})", "id")
        known_ids[spec["id"]] = f"{path}:{yamlsource.line_at(data, [*where, 'id'])}"
        topo_name = spec.get("topology", data.get("topology"))
        role = spec.get("role", data.get("role"))
        if topo_name is None or role is None:
            fail("a test needs a topology and a role (in the test or at the top of the file)")
        try:
            if topo_name not in views:
                views[topo_name] = topology.load(topo_name).conformance_view()
            topo = views[topo_name]
        except InputError as exc:
            if "topology" in spec:
                fail(f"topology {topo_name!r}: {exc.detail}", "topology")
            raise InputError(f"topology {topo_name!r}: {exc.detail}", path,
                             yamlsource.line_at(data, ["topology"])) from None
        refs = packets.References(topo)
        _check_operations(spec.get("setup", []), fail, ("setup",))
        _check_steps(spec["steps"], topo, refs, fail, ("steps",))
        reference = spec["reference"]
        tests.append(Test(
            id=spec["id"], suite=data["suite"], title=spec["title"], rfc=reference["rfc"],
            section=reference["section"], page=reference.get("page"),
            classification=spec["classification"], topology=topo_name, role=role,
            steps=spec["steps"], setup=spec.get("setup", []), resolve=spec.get("resolve", True),
            family=spec.get("family", data.get("family", suites.get(data["suite"]).family)),
            introduce=spec.get("introduce", suites.get(data["suite"]).introduce),
            description=spec.get("description", "").strip(),
            source=f"{path}:{yamlsource.line_at(data, [*where, 'id'])}"))
    return tests


def _check_operations(operations, fail, where):
    for index, operation in enumerate(operations):
        (name, args), = operation.items()
        try:
            OPERATIONS[name].bind(**(args or {}))
        except TypeError as exc:
            fail(f"{name}: {exc}", *where, index, name)


def _check_steps(steps, topo, refs, fail, where):
    for index, step in enumerate(steps):
        (kind, body), = step.items()
        here = (*where, index, kind)
        if kind == "dut":
            _check_operations([body], fail, (*where, index))
            _check_refs(body, refs, fail, here)
            continue
        if kind in ("wait", "resolve"):
            continue
        port = body.get("from") or body.get("at")
        if port not in topo.identities and port not in _tester_ports(topo):
            fail(f"{kind}: {port!r} is neither an identity nor a tester port of "
                 f"{topo.name} (identities: {', '.join(sorted(topo.identities))})", *here)
        for layer_index, layer in enumerate(body["packet"]):
            (name, fields), = layer.items()
            if name not in packets.LAYERS:
                fail(f"unknown packet layer {name!r}", *here, "packet", layer_index)
            _check_refs(fields, refs, fail, (*here, "packet", layer_index))
        if kind == "send":
            _check_build(body, refs, fail, here)
        if "control" in body:
            _check_steps(body["control"], topo, refs, fail, (*here, "control"))


def _check_build(body, refs, fail, where):
    """Build a send step's packet now, so a bad field fails at load time, not mid-run."""
    try:
        bytes(packets.build(body["packet"], refs, body["from"]))
    except InputError as exc:
        layer = getattr(exc, "layer", None)
        fail(exc.detail, *where, "packet", *(() if layer is None else (layer,)))
    except Exception as exc:   # scapy's complaint about a value only bytes() meets
        fail(f"scapy cannot build this packet: {type(exc).__name__} {exc}", *where, "packet")


def _check_refs(value, refs, fail, where):
    try:
        refs.resolve(value)
    except KeyError as exc:
        fail(exc.args[0], *where)


def _tester_ports(topo):
    return {i.ref for n in topo.nodes_with_role("tester") for i in n.interfaces.values()}


def load_all(directory=None):
    """Every test under ``scenarios/``: suites in table order, then by file, then file order.

    Each folder holding scenario files must be a suite's (``suites.SUITES``).
    """
    directory = Path(directory or paths.SCENARIOS)
    for path in sorted(directory.glob("*/*.yaml")):
        if path.parent.name not in suites.BY_FOLDER:
            raise InputError(f"folder {path.parent.name}/ is no suite's (add it to "
                             f"testbed/suites.py: {', '.join(suites.BY_FOLDER)})", path)
    tests, known, views = [], {}, {}
    for suite in suites.SUITES:
        for path in sorted((directory / suite.folder).glob("*.yaml")):
            tests.extend(load_file(path, known, views))
    return tests


def select(tests, selectors):
    """Tests whose suite or id matches one of *selectors* (all if none); unknown ones are an error."""
    if not selectors:
        return tests
    chosen, unknown = [], []
    for selector in selectors:
        hits = [t for t in tests if selector.lower() in (t.suite.lower(), t.id.lower())
                or t.id.lower().startswith(selector.lower() + ".")]
        if not hits:
            unknown.append(selector)
        chosen.extend(t for t in hits if t not in chosen)
    if unknown:
        present = sorted({t.suite for t in tests}, key=suites.order)
        raise InputError(f"no suite or test {', '.join(unknown)} (suites: {', '.join(present)})")
    return chosen


def retarget(tests, topology_name):
    """The tests set to run on another topology, which must offer every identity and
    reference they use."""
    topo = topology.load(topology_name).conformance_view()
    refs = packets.References(topo)
    moved = []
    for test in tests:
        def fail(message, *_where, test=test):
            raise InputError(f"{test.id} cannot run on {topo.name}: {message}")
        _check_steps(test.steps, topo, refs, fail, ())
        _check_refs(test.setup, refs, fail, ())
        moved.append(dataclasses.replace(test, topology=topology_name))
    return moved
