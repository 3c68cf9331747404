"""Classroom labs (``labs/<name>/lab.yaml``): a topology, a DUT stack, tasks and their checks.

A lab file is data: it names a topology, the DUT's stack (a shipped one, or
a manifest in the lab's folder, e.g. a faulty variant), the student's tasks
and the teacher's solution steps.  Each task is checked on the live run by
one or more checks of a small vocabulary, each run in a node's shell:

``neighbor: {node, address, state?, lladdr?, router?}``
    NODE's neighbour cache (``ip neigh``) holds ADDRESS; in one of STATE
    (one or a list; by default any state with a link-layer address:
    REACHABLE, STALE, DELAY, PROBE, PERMANENT, NOARP), with the link-layer
    address LLADDR (a MAC or ``node:ifname``), flagged ``router`` or not.
``route: {node, destination, via?, dev?, mtu?}``
    The route NODE takes to DESTINATION (``ip route get``: the routing
    table with the cached exceptions Redirects and Packet Too Big leave)
    goes via the gateway VIA, out of DEV, with the path MTU MTU.
``command: {node, run, expect_regex}``
    The shell command RUN, run in NODE, prints (stdout and stderr) something
    the Python regular expression EXPECT_REGEX finds, ``^``/``$`` matching at
    each line.

An address is an IP address or ``node:ifname`` (that interface's IPv4
address), ``node:ifname:ipv6`` or ``node:ifname:link-local``.  Any fault in
a lab file is one InputError naming the file, the line and the problem.
"""

import ipaddress
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import paths, runstate, schemas, topology, yamlsource
from .errors import EnvironmentProblem, InputError

LABS = paths.ROOT / "labs"
VALID_STATES = ("REACHABLE", "STALE", "DELAY", "PROBE", "PERMANENT", "NOARP")
COMMAND_TIMEOUT = 20.0


@dataclass(frozen=True)
class Check:
    """One check of a task: its kind and its arguments, addresses resolved."""

    kind: str
    args: dict


@dataclass(frozen=True)
class Task:
    """A student's task: what to do, how it is checked, a hint for when it is not done."""

    id: str
    title: str
    checks: tuple
    hint: str


@dataclass(frozen=True)
class Step:
    """One of the teacher's solution steps: a shell command run in a node."""

    node: str
    run: str


@dataclass(frozen=True)
class Lab:
    """A classroom lab, loaded from its folder."""

    name: str
    title: str
    folder: Path
    topology: str
    stack: str          # a stack name, or the absolute path of a manifest
    tasks: tuple
    solution: tuple

    @property
    def guide(self):
        """The student's guide."""
        return self.folder / "guide.md"

    def describe(self):
        """A JSON-able summary (``testbed lab list --json``)."""
        return {"name": self.name, "title": self.title, "folder": str(self.folder),
                "topology": self.topology, "stack": self.stack, "guide": str(self.guide),
                "tasks": [{"id": t.id, "title": t.title} for t in self.tasks]}


@dataclass(frozen=True)
class TaskResult:
    """Whether a task is done; if not, what the checks saw."""

    task: Task
    done: bool
    detail: str = ""


def find(name_or_path):
    """The lab.yaml of a lab name (a folder of labs/) or of a folder or file path."""
    candidate = Path(name_or_path)
    if candidate.name == "lab.yaml" or os.sep in str(name_or_path):
        path = candidate / "lab.yaml" if candidate.is_dir() else candidate
        if not path.is_file():
            raise InputError("no such lab file", path)
        return path
    path = LABS / name_or_path / "lab.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.parent.name for p in LABS.glob("*/lab.yaml")))
        raise InputError(f"unknown lab {name_or_path!r} (known: {known})")
    return path


def available():
    """Every lab in labs/, loaded, in folder order."""
    return [load(p) for p in sorted(LABS.glob("*/lab.yaml"))]


def load(name_or_path):
    """Load and check a lab; raise InputError (file, line, problem) on any fault."""
    path = find(name_or_path)
    data = yamlsource.load(path)
    if not isinstance(data, dict):
        raise InputError("a lab must be a mapping with name, title, topology, stack, tasks "
                         "and solution", path, getattr(data, "line", None) or 1)
    schemas.validate(data, path, "lab")
    return _Builder(data, path).build()


class _Builder:
    """Turns schema-checked data into a Lab, checking what the schema cannot."""

    def __init__(self, data, path):
        self.data, self.path = data, path

    def fail(self, message, *where):
        """Raise the InputError for *message* at the line of the value at *where*."""
        raise InputError(message, self.path, yamlsource.line_at(self.data, where))

    def build(self):
        data = self.data
        if data["name"] != self.path.parent.name:
            self.fail(f"name {data['name']!r} differs from the lab's folder "
                      f"{self.path.parent.name!r}", "name")
        try:
            self.topo = topology.load(data["topology"])
        except InputError as exc:
            self.fail(f"topology: {exc}", "topology")
        stack = self._stack()
        tasks, seen = [], set()
        for index, spec in enumerate(data["tasks"]):
            if spec["id"] in seen:
                self.fail(f"duplicate task id {spec['id']!r}", "tasks", index, "id")
            seen.add(spec["id"])
            many = isinstance(spec["check"], list)
            checks = tuple(self._check(entry, "tasks", index, "check", *((i,) if many else ()))
                           for i, entry in enumerate(spec["check"] if many else [spec["check"]]))
            tasks.append(Task(spec["id"], spec["title"], checks, spec["hint"]))
        steps = []
        for index, spec in enumerate(data["solution"]):
            self._node(spec["node"], "solution", index, "node")
            steps.append(Step(spec["node"], spec["run"]))
        return Lab(data["name"], data["title"], self.path.parent, data["topology"], stack,
                   tuple(tasks), tuple(steps))

    def _stack(self):
        """The stack: a shipped name, or a manifest file beside lab.yaml (loaded to check it)."""
        from . import stacks
        name = self.data["stack"]
        target = str(self.path.parent / name) if name.endswith((".yaml", ".yml")) else name
        try:
            stacks.load(target)
        except InputError as exc:
            self.fail(f"stack: {exc}", "stack")
        return target

    def _node(self, name, *where):
        node = self.topo.nodes.get(name)
        if node is None or node.role == "switch":
            known = ", ".join(n for n, v in self.topo.nodes.items() if v.role != "switch")
            self.fail(f"no node {name!r} with a shell in {self.topo.name} (nodes: {known})",
                      *where)
        return name

    def _address(self, text, *where):
        """An IP address, or node:ifname[:ipv6|:link-local] resolved through the topology."""
        try:
            return ipaddress.ip_address(text)
        except ValueError:
            pass
        node, _, rest = text.partition(":")
        ifname, _, kind = rest.partition(":")
        intf = self.topo.nodes.get(node) and self.topo.nodes[node].interfaces.get(ifname)
        if intf is None or kind not in ("", "ipv6", "link-local"):
            self.fail(f"{text!r} is neither an IP address nor node:ifname[:ipv6|:link-local] "
                      f"of {self.topo.name}", *where)
        if kind == "link-local":
            return intf.ipv6_link_local
        address = intf.address("ipv6" if kind else "ipv4")
        if address is None:
            self.fail(f"{node}:{ifname} has no {'IPv6' if kind else 'IPv4'} address", *where)
        return address.ip

    def _check(self, entry, *where):
        kind, args = next(iter(entry.items()))
        where = (*where, kind)
        args = dict(args)
        self._node(args["node"], *where, "node")
        for key in ("address", "destination", "via"):
            if key in args:
                args[key] = self._address(args[key], *where, key)
        if "lladdr" in args:
            args["lladdr"] = self._mac(args["lladdr"], *where, "lladdr")
        if isinstance(args.get("state"), str):
            args["state"] = [args["state"]]
        if kind == "command":
            try:
                re.compile(args["expect_regex"], re.MULTILINE)
            except re.error as exc:
                self.fail(f"expect_regex: {exc}", *where, "expect_regex")
        return Check(kind, args)

    def _mac(self, text, *where):
        if re.fullmatch(r"([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}", text):
            return text.lower()
        node, _, ifname = text.partition(":")
        intf = self.topo.nodes.get(node) and self.topo.nodes[node].interfaces.get(ifname)
        if intf is None:
            self.fail(f"{text!r} is neither a MAC address nor node:ifname of "
                      f"{self.topo.name}", *where)
        return intf.mac


# -- on the live run -------------------------------------------------------


def belongs(lab, run):
    """Raise InputError unless *run* is this lab's topology with its stack."""
    from . import stacks
    state = run.state
    stack = stacks.load(lab.stack).name
    if (state.get("topology"), state.get("stack")) != (lab.topology, stack):
        raise InputError(f"run {run.id} is {state.get('topology')} with the "
                         f"{state.get('stack')} stack, not lab {lab.name} ({lab.topology} with "
                         f"{stack}): start it with `testbed lab start {lab.name}`")


def node_run(run, node, script, timeout=COMMAND_TIMEOUT):
    """Run *script* in *node*'s namespace of the live *run*; return (output, exit status)."""
    nodes = run.state.get("nodes", {})
    if node not in nodes:
        raise EnvironmentProblem(f"run {run.id} has no node {node!r}")
    env = {**os.environ, runstate.MARKER: run.id}
    try:
        done = subprocess.run(["mnexec", "-a", str(nodes[node]["pid"]), "sh", "-c", script],
                              capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return f"no answer within {timeout:g} s", 124
    return done.stdout + done.stderr, done.returncode


def check(lab, run):
    """A TaskResult for every task of *lab* on the live *run*, in order."""
    results = []
    for task in lab.tasks:
        failures = [why for why in (_CHECKS[c.kind](run, **c.args) for c in task.checks) if why]
        results.append(TaskResult(task, not failures, "; ".join(failures)))
    return results


def solve(lab, run, on_step=None):
    """Apply the teacher's solution steps in order; raise EnvironmentProblem if one fails."""
    for step in lab.solution:
        if on_step is not None:
            on_step(step)
        out, rc = node_run(run, step.node, step.run)
        if rc:
            raise EnvironmentProblem(f"solution step in {step.node} failed (exit {rc}): "
                                     f"{step.run}\n{out.strip()}")


def _neighbor(live, node, address, state=None, lladdr=None, router=None):
    """None if *node*'s cache holds *address* as asked, else what it holds."""
    out, _ = node_run(live, node, f"ip neigh show to {address}")
    words = next((line.split() for line in out.splitlines()
                  if line.split()[:1] == [str(address)]), None)
    if words is None:
        return f"{node} has no neighbour entry for {address}"
    have_state = words[-1]
    have_mac = words[words.index("lladdr") + 1] if "lladdr" in words else None
    wanted = state or VALID_STATES
    if have_state not in wanted:
        return f"{node}'s entry for {address} is {have_state}, not {'/'.join(wanted)}"
    if lladdr is not None and have_mac != lladdr:
        return f"{node}'s entry for {address} has lladdr {have_mac}, not {lladdr}"
    if router is not None and ("router" in words) != router:
        return f"{node}'s entry for {address} is {'' if 'router' in words else 'not '}" \
               "flagged router"
    return None


def _route(live, node, destination, via=None, dev=None, mtu=None):
    """None if *node*'s route to *destination* is as asked, else the route it has."""
    out, rc = node_run(live, node, f"ip route get {destination}")
    words = out.split()
    if rc:
        return f"{node} has no route to {destination}: {' '.join(words)}"

    def after(word):
        return words[words.index(word) + 1] if word in words[:-1] else None
    have_via = after("via")
    problems = []
    if via is not None and (have_via is None or ipaddress.ip_address(have_via) != via):
        problems.append(f"via {have_via or '(directly)'}, not {via}")
    if dev is not None and after("dev") != dev:
        problems.append(f"out of {after('dev')}, not {dev}")
    if mtu is not None and after("mtu") != str(mtu):
        problems.append(f"with path MTU {after('mtu')}, not {mtu}" if after("mtu")
                        else f"with no learned path MTU (want {mtu})")
    return f"{node}'s route to {destination} goes {', '.join(problems)}" if problems else None


def _command(live, node, run, expect_regex):
    """None if *run* in *node* prints what *expect_regex* finds, else its last line."""
    out, rc = node_run(live, node, run)
    if re.search(expect_regex, out, re.MULTILINE):
        return None
    last = out.strip().splitlines()[-1] if out.strip() else f"no output, exit {rc}"
    return f"`{run}` in {node} did not print /{expect_regex}/ (last line: {last})"


_CHECKS = {"neighbor": _neighbor, "route": _route, "command": _command}
