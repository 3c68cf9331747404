"""The ``testbed`` command.

Exit codes: 0 ok, 1 checks failed, 2 bad usage or input, 3 environment
problem (not root, Mininet missing), 130 Ctrl-C, 128+N ended by signal N.
"""

import json
import os
import signal
import sys

import click

from . import __version__, runstate, signals
from .errors import InputError, TestbedError

# Mininet imports distutils.version.  setuptools' stand-in for distutils (put
# on the import path by its .pth hook at start-up) loads pkg_resources, ~0.1 s
# at every start; the standard library's copy costs almost nothing.  Child
# Pythons (a run's workers, a matrix's runs) are told the same through the
# environment: it cost each of them 0.15 s of CPU.
os.environ.setdefault("SETUPTOOLS_USE_DISTUTILS", "stdlib")
if "_distutils_hack" in sys.modules:
    sys.modules["_distutils_hack"].remove_shim()


# A session spends most of its time waiting for frames and timers, and frames
# are judged by their kernel arrival times: six per core keep 2 cores busy
# without changing a verdict (the full matrix at -j 12 here: 4 min 39 s).
SESSIONS_PER_CORE = 6


class Group(click.Group):
    """Turns TestbedError into one line on stderr and its exit code."""

    def invoke(self, ctx):
        signals.redeliver_lost_interrupts()
        try:
            return super().invoke(ctx)
        except TestbedError as exc:
            click.echo(f"testbed: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            # The run is already taken down (the context managers saw the
            # interrupt first).  Python's exit waits on threads and finalisers,
            # which the interrupt may have caught half-way: give them seconds.
            # A Ctrl-C still on its way (held during teardown, or redelivered after
            # a finaliser dropped it) must not kill the exiting process by SIGINT.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            click.echo("testbed: interrupted", err=True)
            signals.exit_soon(130, within=5.0)
            sys.exit(130)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="testbed")
def main():
    """Network-protocol conformance test bed on Mininet."""


def _console():
    """A rich console; as wide as the terminal, or wide enough when output is piped."""
    from rich.console import Console
    return Console(width=None if sys.stdout.isatty() else 160)


def _render_table(rows):
    """The node table (node, role, interface, MAC, IPv4, IPv6) as text."""
    from rich.table import Table
    table = Table()
    for column in ("node", "role", "interface", "MAC", "IPv4", "IPv6"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console = _console()
    with console.capture() as text:
        console.print(table)
    return text.get()


def _print_table(rows, title=None, rendered=None):
    """Print *title*, then the node table (*rendered* already, if given)."""
    if title:
        click.echo(title)
    click.echo(rendered or _render_table(rows), nl=False)


def _print_checks(results):
    from rich.table import Table
    table = Table(title="checks", title_justify="left")
    table.add_column("")
    table.add_column("check")
    table.add_column("detail")
    for result in results:
        mark = {True: "[green]ok[/green]", None: "[yellow]skip[/yellow]"}.get(
            result["ok"], "[red]FAIL[/red]")
        table.add_row(mark, result["name"], result["detail"])
    _console().print(table)
    failed = sum(r["ok"] is False for r in results)
    skipped = sum(r["ok"] is None for r in results)
    click.echo(f"{len(results) - failed - skipped} passed, {failed} failed"
               + (f", {skipped} not checked" if skipped else ""))


def _load_live(topology_name, choices):
    """The topology, the DUT's manifest and the other nodes' stacks for ``up``.

    *choices* are ``--stack`` values: ``NAME`` for the DUT, ``NODE=NAME`` for any
    node; the DUT runs its choice, else its topology entry's ``stack:``, else linux.
    """
    from . import stacks, topology
    topo = topology.load(topology_name)
    chosen = {}
    for choice in choices:
        node, equals, name = choice.rpartition("=")
        chosen[node if equals else topo.dut.name] = name
    dut_choice = chosen.pop(topo.dut.name, topo.dut.stack or "linux")
    others = stacks.for_nodes(topo, chosen)
    manifest = stacks.load(dut_choice)
    stacks.require_built(manifest)
    return topo, manifest, others


def _run_checks(emulation):
    from .checks import Checker
    return [vars(r) for r in Checker(emulation).run()]


@main.command()
@click.argument("topology_name", metavar="TOPOLOGY")
@click.option("--stack", "stack_choices", multiple=True, metavar="[NODE=]STACK",
              help="The DUT's stack (default: its `stack:` in the topology, else linux), or "
                   "NODE=STACK for any host or router; repeat for several nodes.  A stack is "
                   "a name (see `testbed stacks`) or a path to a manifest.")
@click.option("--detach", is_flag=True, help="Leave the topology running in the background.")
@click.option("--check", is_flag=True,
              help="Verify the topology (reachability, forwarding, redirects) and report.")
def up(topology_name, stack_choices, detach, check):
    """Build TOPOLOGY (a name from topologies/ or a file), start the stacks, open a console.

    With --check it verifies the topology and, unless --detach is given, tears it
    down again: exit 0 if every check passed, 1 if not.
    """
    if detach:
        _detach(topology_name, stack_choices, check)
        return
    topo, manifest, others = _load_live(topology_name, stack_choices)
    from .network import Emulation, check_environment, table_rows
    check_environment()
    signals.exit_on_termination()
    with Emulation(topo, manifest, others) as emulation:
        title = _title(topo, manifest, emulation.run.id)
        _print_table(table_rows(topo, emulation.stack_names()), title)
        _print_notes(emulation.notes)
        if check:
            results = _run_checks(emulation)
            _print_checks(results)
            if any(r["ok"] is False for r in results):
                sys.exit(1)
            return
        from .console import Console
        click.echo("Type `help` for Mininet's commands, `dut help` for the DUT's, "
                   "`exit` to tear down.")
        Console(emulation, lambda: _print_table(table_rows(topo, emulation.stack_names()),
                                                title))


def _print_notes(notes):
    """Say what the nodes' stacks could not take (on stderr, one line each)."""
    for note in notes:
        click.echo(f"note: {note}", err=True)


def _title(topo, manifest, run_id):
    return f"{topo.name} with the {manifest.name} stack — run {run_id}"


def _detach(topology_name, stack_choices, check):
    """Build and hold the topology in a daemon (runstate.detach); print what it reports."""
    def start():
        topo, manifest, others = _load_live(topology_name, stack_choices)
        from . import relay
        from .network import Emulation, check_environment, table_rows
        check_environment()
        emulation = Emulation(topo, manifest, others)
        emulation.start()
        try:
            relay.serve(emulation)
            report = {"run": emulation.run.id, "title": _title(topo, manifest, emulation.run.id),
                      "table": table_rows(topo, emulation.stack_names()),
                      "notes": emulation.notes}
            if check:
                report["checks"] = _run_checks(emulation)
        except BaseException:
            emulation.stop()
            raise
        return emulation, report

    early = {}

    def warm_up():
        """While the daemon builds: render the table it will most likely report."""
        try:
            topo, manifest, others = _load_live(topology_name, stack_choices)
            from .network import stack_names, table_rows
            early["rows"] = table_rows(topo, stack_names(topo, manifest, others))
            early["text"] = _render_table(early["rows"])
        except TestbedError:
            pass            # the daemon reports it
    report = runstate.detach(start, warm_up)
    _print_table(report["table"], report["title"] + " (detached)",
                 early["text"] if early.get("rows") == report["table"] else None)
    _print_notes(report["notes"])
    if "checks" in report:
        _print_checks(report["checks"])
    click.echo("Up in the background. `testbed exec NODE -- CMD` runs a command in a node; "
               "`testbed down` stops it.")
    if any(r["ok"] is False for r in report.get("checks", [])):
        sys.exit(1)


def _pick_run(run_id):
    """The run named *run_id*, or the only live run."""
    runs = [r for r in runstate.Run.all() if r.alive]
    if run_id:
        match = [r for r in runstate.Run.all() if r.id == run_id]
        if not match:
            raise InputError(f"no run {run_id!r}")
        return match[0]
    if not runs:
        raise InputError("no run is up (start one with `testbed up TOPOLOGY --detach`)")
    if len(runs) > 1:
        raise InputError("several runs are up: say which with --run "
                         f"({', '.join(r.id for r in runs)})")
    return runs[0]


@main.command(name="exec", context_settings={"ignore_unknown_options": True})
@click.option("--run", "run_id", help="The run (default: the only one up).")
@click.argument("node")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def exec_(run_id, node, command):
    """Run COMMAND (default: a shell) in NODE's namespace: testbed exec h1 -- ping hc.

    A word naming a node stands for its first address, as in Mininet's CLI.  On a
    node whose stack runs outside its kernel (lwIP, gVisor, …), a stack command
    (`ping`, `neighbors`, `add_route`, … as `dut help` lists them) goes to the stack.
    """
    from . import relay
    from .console import is_command
    run = _pick_run(run_id)
    nodes = run.state.get("nodes", {})
    if node not in nodes:
        raise InputError(f"run {run.id} has no node {node!r} (nodes: {', '.join(nodes)})")
    argv = [nodes[word].get("address") or word if word in nodes else word for word in command]
    if nodes[node].get("kernel_silent") and is_command(argv):
        ok, text = relay.call(run, node, argv)
        click.echo(text)
        sys.exit(0 if ok else 1)
    os.environ[runstate.MARKER] = run.id
    argv = argv or [os.environ.get("SHELL", "/bin/bash")]
    os.execvp("mnexec", ["mnexec", "-a", str(nodes[node]["pid"]), *argv])


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(as_json):
    """List the runs that are up (and leftovers of killed ones)."""
    runs = [{"id": r.id, "alive": r.alive, **{k: r.state.get(k) for k in
             ("topology", "stack", "owner", "created", "ready")},
             "node_stacks": {name: node["stack"] for name, node in r.state.get("nodes", {}).items()
                             if node.get("stack") and node.get("role") != "dut"}}
            for r in runstate.Run.all()]
    if as_json:
        click.echo(json.dumps(runs, indent=1))
        return
    if not runs:
        click.echo("no runs")
        return
    for run in runs:
        state = "up" if run["alive"] else "dead (run `testbed clean`)"
        others = "".join(f" {node}={stack}" for node, stack in run["node_stacks"].items())
        click.echo(f"{run['id']}  {run['topology']}  stack={run['stack']}{others}  "
                   f"pid={run['owner']}  {state}")
    live = [r for r in runstate.Run.all() if r.alive]
    if len(live) == 1 and live[0].state.get("table"):
        _print_table(live[0].state["table"], f"run {live[0].id}")


@main.command()
@click.option("--run", "run_id", help="The run (default: the only one up).")
def down(run_id):
    """Stop a detached run and remove everything it made."""
    run = _pick_run(run_id)
    stopped, _ = runstate.take_down(run.id, run)
    if not stopped:
        click.echo(f"run {run.id} did not stop in time; removed it by force", err=True)
    click.echo(f"run {run.id} is down")


@main.command()
@click.option("--all", "include_live", is_flag=True, help="Also stop runs that are still up.")
def clean(include_live):
    """Remove what killed runs left behind: their processes and namespaces.

    Only processes carrying a run's TESTBED_RUN marker, or living in such a
    run's namespaces, are touched; never anything else on the machine.
    """
    report = runstate.clean(include_live)
    for run_id, killed in report:
        click.echo(f"removed run {run_id}: {killed} process(es)")
    if not report:
        click.echo("nothing to clean")


@main.command()
@click.argument("selectors", nargs=-1, metavar="[SUITE|ID]...")
@click.option("--stack", "stack_name", default="linux", show_default=True,
              help="A stack name (see `testbed stacks`) or a path to a manifest.")
@click.option("--topology", "topology_name",
              help="Run the tests on this topology instead of their own.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Where results.jsonl, junit.xml, summary.md and pcap/ go.")
@click.option("--silence", type=click.FloatRange(0.01, 30),
              help="Seconds to wait for silence (default: 20x the DUT's measured answer time, "
                   "0.05-1 s).")
@click.option("--update-expected", is_flag=True,
              help="Rewrite the stack's expected verdicts from this run (keeping reasons "
                   "already written).")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Sessions of the stack side by side, each in namespaces of its own.")
def run(selectors, stack_name, topology_name, out_dir, silence, update_expected, jobs):
    """Run conformance tests (all, or the given suites and test ids) against a stack.

    Each verdict is set against the stack's expected ones (stacks/NAME/expected.yaml):
    exit 0 if all are as expected, 1 if any differs.  A stack without that file
    exits 0 only if every test passed.
    """
    from . import expected as expectations, scenario, stacks
    tests = scenario.select(scenario.load_all(), selectors)
    if topology_name:
        tests = scenario.retarget(tests, topology_name)
    manifest = stacks.load(stack_name)
    stacks.require_built(manifest)
    from .engine import run_tests
    from .network import check_environment
    check_environment()
    signals.exit_on_termination()
    path = expectations.path_for(manifest.path)
    expected = expectations.load(path)
    with _progress(len(tests), expected) as progress:
        results = run_tests(tests, manifest, out_dir, silence, progress, expected, jobs)
    _print_summary(results, out_dir)
    _write_html_report(out_dir)
    if update_expected:
        expectations.write(path, manifest.name, results, expected)
        click.echo(f"expected verdicts written to {path}")
        return
    if expected is None:
        if any(r.verdict != "pass" for r in results):
            sys.exit(1)
        return
    comparison = expectations.compare(results, expected)
    _print_comparison(manifest.name, comparison)
    if not comparison.as_expected:
        sys.exit(1)


def _print_comparison(name, comparison):
    """One line for a stack's verdicts against its expected ones, then each that differs."""
    if comparison.as_expected:
        click.echo(f"{name}: every verdict as expected ({len(comparison.known)} known "
                   "departures)")
        return
    click.echo(f"{name}: {len(comparison.regressions)} regression(s), "
               f"{len(comparison.unexpected_passes)} unexpected pass(es), "
               f"{len(comparison.changes)} other change(s) against the expected verdicts")
    for result, want in comparison.differing:
        click.echo(f"  {result.id:<12} expected {want}, got {result.verdict}"
                   + (f" — {result.reason}" if result.reason else ""))


@main.command()
@click.option("--stacks", "stack_names",
              help="Comma-separated stack names or manifest paths (default: every built stack "
                   "in stacks/ except test-bed tools).")
@click.option("--suites", help="Comma-separated suites or test ids (default: all).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Where matrix.md, matrix.json and one folder per stack go.")
@click.option("--silence", type=click.FloatRange(0.01, 30),
              help="Passed to each `testbed run`.")
@click.option("--update-expected", is_flag=True,
              help="Rewrite each stack's expected verdicts from this run.")
@click.option("-j", "--jobs", type=click.IntRange(1, 64),
              default=min(64, SESSIONS_PER_CORE * (os.cpu_count() or 1)),
              show_default=f"{SESSIONS_PER_CORE} per core",
              help="Sessions side by side: up to that many stacks at once and, when it "
                   "exceeds the stacks, each stack's tests in pieces (`testbed run -j`).")
def matrix(stack_names, suites, out_dir, silence, update_expected, jobs):
    """Run the suites against several stacks and compare them side by side.

    Each stack runs as its own `testbed run` into OUT/STACK/.  Exit 0 once the
    matrix is written and every stack that has expected verdicts got them;
    1 if a stack's run did not complete or a verdict differs from its expected one.
    """
    from collections import Counter
    from . import matrix as matrix_, scenario, stacks
    selectors = [s for s in (suites or "").split(",") if s]
    scenario.select(scenario.load_all(), selectors)       # refuse unknown selectors now
    if stack_names:
        manifests = [stacks.load(name) for name in stack_names.split(",") if name]
        for manifest in manifests:
            stacks.require_built(manifest)
    else:
        manifests = [s for s in stacks.available() if s.in_matrix and s.built]
    if not manifests:
        raise InputError("no stack to run: none is built (run ./scripts/setup)")
    from .network import check_environment
    check_environment()
    signals.exit_on_termination()

    def on_stack(manifest, results, failure, comparison):
        counts = Counter(r.verdict for r in results)
        click.echo(f"{manifest.name:<8} " + (f"{counts['pass']}/{len(results)} passed"
                                            if results else "no results")
                   + (f" — {failure}" if failure else ""))
        if comparison is not None and not failure:
            _print_comparison(manifest.name, comparison)
    results, failures, comparisons = matrix_.make(manifests, selectors, out_dir, silence,
                                                  on_stack, update_expected, jobs)
    _print_verdicts(results)
    click.echo(f"matrix: {out_dir}/matrix.md, matrix.json; per stack: {out_dir}/STACK/")
    _write_html_report(out_dir)
    if failures or not all(c.as_expected for c in comparisons.values()):
        sys.exit(1)


@main.command()
@click.argument("first", metavar="A", type=click.Path(exists=True, file_okay=False))
@click.argument("second", metavar="B", type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def diff(first, second, as_json):
    """Compare two results folders (of `testbed run` or `testbed matrix`) test by test.

    Lists every test whose verdict differs, with both reasons, and the passes per
    suite. Exit 0 if the verdicts are identical, 1 if not.
    """
    from . import diff as diff_
    changes, counts = diff_.compare(diff_.load(first), diff_.load(second))
    if as_json:
        click.echo(json.dumps({"a": first, "b": second,
                               "suites": {s: {"a": a, "b": b, "tests": n}
                                          for s, (a, b, n) in counts.items()},
                               "changed": [c.to_json() for c in changes]}, indent=1))
    else:
        _print_diff(first, second, changes, counts)
    sys.exit(1 if changes else 0)


@main.command(name="report")
@click.argument("folder", metavar="DIR", type=click.Path(exists=True, file_okay=False))
def report_(folder):
    """Write DIR/report.html for the results of `testbed run` or `testbed matrix` in DIR.

    One self-contained page (open it from disk): the suite x stack heatmap, filters,
    and every test with its requirement, verdicts, reasons and packet ladder.
    Results too old to hold their ladders get them decoded from their pcaps.
    """
    from . import htmlreport
    click.echo(f"report: {htmlreport.write(folder)}")


def _write_html_report(folder):
    """Write the run's or matrix's report.html; a fault here only costs the page."""
    from . import htmlreport
    try:
        click.echo(f"report: {htmlreport.write(folder)}")
    except Exception as exc:  # noqa: BLE001 - the results are written; say so and go on
        click.echo(f"testbed: report.html not written ({exc!r}); try `testbed report "
                   f"{folder}`", err=True)


def _print_diff(first, second, changes, counts):
    from rich.table import Table
    click.echo(f"A: {first}\nB: {second}")
    table = Table(title="passes per suite", title_justify="left")
    for column in ("suite", "A", "B", "tests"):
        table.add_column(column)
    for suite, (a, b, total) in counts.items():
        table.add_row(suite, str(a), str(b), str(total))
    _console().print(table)
    if not changes:
        click.echo("identical verdicts")
        return
    table = Table(title=f"{len(changes)} test(s) with different verdicts", title_justify="left")
    for column in ("test", "A", "B", "reasons"):
        table.add_column(column)
    for change in changes:
        a, b = change.a, change.b
        reasons = "\n".join(f"{side}: {r.reason}" for side, r in (("A", a), ("B", b))
                            if r is not None and r.reason)
        table.add_row(change.key, a.verdict if a else "—", b.verdict if b else "—", reasons)
    _console().print(table)


def _progress(total, expected=None):
    """A context manager yielding a callback that shows each finished test (against its
    expected verdict, where the stack has them)."""
    from contextlib import contextmanager
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from .results import expected_verdict

    def line(result):
        want = None if expected is None else expected_verdict(expected, result.id)
        note = "" if want in (None, result.verdict) else f" (expected {want})"
        return f"{result.verdict:<12} {result.id:<12} {result.title}{note}" + \
            (f" — {result.reason}" if result.reason else "")

    @contextmanager
    def live():
        if not sys.stdout.isatty():
            yield lambda result: click.echo(line(result))
            return
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      console=_console()) as bar:
            task = bar.add_task("running", total=total)

            def advance(result):
                if result.verdict != "pass":
                    bar.console.print(line(result), style="yellow", markup=False)
                bar.update(task, advance=1, description=f"{result.suite} {result.id}")
            yield advance
    return live()


def _print_summary(results, out):
    _print_verdicts(results)
    passed = sum(r.verdict == "pass" for r in results)
    click.echo(f"details: {out}/summary.md, results.jsonl, junit.xml, pcap/")
    click.echo(f"{passed} passed, {len(results) - passed} failed")


def _print_verdicts(results):
    """The seed-style #pass/#total table, one row per stack."""
    from rich.table import Table
    from . import report
    header, rows = report.summary_rows(results)
    table = Table(title="#pass/#total", title_justify="left")
    for column in header:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    _console().print(table)


@main.group(name="list")
def list_():
    """List what the test bed ships."""


@list_.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def scenarios(as_json):
    """The conformance tests in scenarios/, with their RFC references."""
    from . import scenario
    tests = scenario.load_all()
    if as_json:
        click.echo(json.dumps([t.metadata() for t in tests], indent=1))
        return
    for test in tests:
        click.echo(f"{test.id:<13} {test.classification:<10} {test.reference:<40} {test.title}")
    by_suite = {}
    for test in tests:
        by_suite[test.suite] = by_suite.get(test.suite, 0) + 1
    click.echo(", ".join(f"{suite}: {n}" for suite, n in by_suite.items()))


@list_.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def topologies(as_json):
    """The topologies in topologies/."""
    from . import topology
    items = []
    for name, topo in topology.available().items():
        items.append({"name": name, "file": str(topo.source), "description": topo.description,
                      "networks": {n.name: {"ipv4": str(n.ipv4 or ""), "ipv6": str(n.ipv6 or "")}
                                   for n in topo.networks.values()},
                      "nodes": {n.name: n.role for n in topo.nodes.values()},
                      "dut_interfaces": sorted(topo.dut.interfaces),
                      "identities": sorted(topo.identities)})
    if as_json:
        click.echo(json.dumps(items, indent=1))
        return
    for item in items:
        nodes = ", ".join(f"{n} ({r})" for n, r in item["nodes"].items())
        click.echo(f"{item['name']}: {item['description'].split('.')[0]}.\n    nodes: {nodes}")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--build", is_flag=True,
              help="First run each manifest's build script (scripts/setup does this).")
def stacks(as_json, build):
    """The stacks under test in stacks/, with version, build state and capabilities."""
    from . import stacks as registry
    if build:
        for manifest in registry.available():
            manifest.build_stack()
    items = [manifest.describe() for manifest in registry.available()]
    if as_json:
        click.echo(json.dumps(items, indent=1))
        return
    for item in items:
        click.echo(f"{item['name']:<8} {item['version']:<36} "
                   f"{'built' if item['built'] else 'not built':<9} "
                   f"{', '.join(item['capabilities']) or '(no control operations)'}")


@main.group()
def lab():
    """Classroom labs (labs/): start one, check a student's progress, stop it."""


@lab.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def lab_list(as_json):
    """The labs in labs/, with their topology, DUT stack and tasks."""
    from . import labs
    items = [chosen.describe() for chosen in labs.available()]
    if as_json:
        click.echo(json.dumps(items, indent=1))
        return
    for item in items:
        click.echo(f"{item['name']:<14} {item['title']} ({item['topology']}, "
                   f"{len(item['tasks'])} tasks)")


@lab.command(name="start")
@click.argument("name")
def lab_start(name):
    """Build lab NAME's topology with its DUT in the background (like `up --detach`)."""
    from . import labs
    chosen = labs.load(name)
    _detach(chosen.topology, (chosen.stack,), False)
    click.echo(f"Lab {chosen.name}: {chosen.title}. Guide: {chosen.guide}\n"
               f"`testbed lab check {chosen.name}` shows your progress; "
               "`testbed lab stop` ends the lab.")


@lab.command(name="check")
@click.argument("name")
@click.option("--run", "run_id", help="The run (default: the only one up).")
def lab_check(name, run_id):
    """Check lab NAME's tasks on the live run: exit 0 when all are done, 1 otherwise."""
    from . import labs
    chosen, live = _live_lab(name, run_id)
    results = labs.check(chosen, live)
    for number, result in enumerate(results, 1):
        mark = "done" if result.done else "not yet"
        click.echo(f"{number}. [{mark}] {result.task.id}: {result.task.title}")
        if not result.done:
            click.echo(f"     hint: {result.task.hint}\n     seen: {result.detail}")
    done = sum(r.done for r in results)
    click.echo(f"{done}/{len(results)} tasks done")
    if done < len(results):
        sys.exit(1)


@lab.command(name="solve")
@click.argument("name")
@click.option("--run", "run_id", help="The run (default: the only one up).")
def lab_solve(name, run_id):
    """Apply the teacher's solution steps of lab NAME to the live run (for teachers)."""
    from . import labs
    chosen, live = _live_lab(name, run_id)
    labs.solve(chosen, live, lambda step: click.echo(f"{step.node}$ {step.run}"))


def _live_lab(name, run_id):
    """Lab NAME and the live run it is up in (refused if that run is another lab's)."""
    from . import labs
    chosen = labs.load(name)
    live = _pick_run(run_id)
    labs.belongs(chosen, live)
    return chosen, live


@lab.command(name="stop")
@click.option("--run", "run_id", help="The run (default: the only one up).")
@click.pass_context
def lab_stop(ctx, run_id):
    """Stop the lab's run (like `testbed down`)."""
    ctx.invoke(down, run_id=run_id)
