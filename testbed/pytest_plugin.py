"""The pytest plugin (entry point ``pytest11``): testbed in any project's tests.

- the ``testbed`` fixture, a factory: ``tb = testbed("topology-3", stack="lwip")``
  builds a Testbed; every one it made is taken down after the test, whether
  the test passed, failed or was interrupted;
- ``@pytest.mark.stacks("linux", "lwip")`` runs a test once per stack (the
  factory's default stack is the current one);
- ``pytest --testbed-suite ARP --testbed-stack lwip`` collects the YAML
  scenarios as items, one per test id, so ``-k``, ``-x``, ``--lf`` and
  pytest-xdist's ``-n`` work; an item fails when its verdict is not the one
  ``stacks/<name>/expected.yaml`` expects.

Importing this module loads neither Mininet nor scapy: a project that does
not use the fixtures pays nothing for the plugin.
"""

import pytest

_SUITE_KEY = pytest.StashKey()


def pytest_addoption(parser):
    """The plugin's command-line options."""
    group = parser.getgroup("testbed", "testbed conformance suites")
    group.addoption("--testbed-suite", action="append", default=[], metavar="SUITE|ID",
                    help="Collect the scenarios of SUITE (or a test id) as pytest items; "
                         "may be repeated.")
    group.addoption("--testbed-stack", default="linux", metavar="STACK",
                    help="The stack the scenarios and the testbed fixture use by default "
                         "(default: linux).")
    group.addoption("--testbed-out", default=None, metavar="DIR",
                    help="Where suite items keep their pcaps (default: a temporary folder).")


def pytest_configure(config):
    """Declare the ``stacks`` marker."""
    config.addinivalue_line("markers", "stacks(*names): run the test once per stack; the "
                                       "testbed fixture's default stack is the current one")


def pytest_generate_tests(metafunc):
    """Parametrise a test marked ``stacks(...)`` over those stacks."""
    marker = metafunc.definition.get_closest_marker("stacks")
    if marker is not None and "testbed_stack" in metafunc.fixturenames:
        metafunc.parametrize("testbed_stack", marker.args, ids=list(marker.args))


@pytest.fixture
def testbed_stack(request):
    """The stack a test runs against: the ``stacks`` marker's current one, else
    ``--testbed-stack``."""
    return request.config.getoption("testbed_stack")


@pytest.fixture
def testbed(testbed_stack):
    """A factory ``testbed(topology="topology-3", stack=None, live=True)`` returning a
    started Testbed (stack defaults to the test's); all are taken down after the test."""
    from .api import Testbed
    made = []

    def build(topology="topology-3", stack=None, live=True):
        tb = Testbed(topology, stack or testbed_stack, live)
        made.append(tb)
        return tb.start()
    try:
        yield build
    finally:
        for tb in reversed(made):
            tb.close()


# -- the YAML suites as items --------------------------------------------------

@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items):
    """Append one item per selected scenario (before -k, --lf and xdist look at items)."""
    selectors = config.getoption("testbed_suite")
    if not selectors:
        return
    from . import scenario
    from .errors import TestbedError
    try:
        tests = scenario.select(scenario.load_all(), selectors)
    except TestbedError as exc:
        raise pytest.UsageError(f"testbed: {exc}") from None
    runner = SuiteRunner(config)
    config.stash[_SUITE_KEY] = runner
    items.extend(ScenarioItem.from_parent(session, name=test.id, nodeid=test.id, test=test,
                                             runner=runner)
                 for test in tests)


def pytest_sessionfinish(session):
    """Take down the suite runner's topology, if one is up."""
    runner = session.config.stash.get(_SUITE_KEY, None)
    if runner is not None:
        runner.finish()


class VerdictMismatch(Exception):
    """A scenario's verdict is not the one the stack's expected verdicts hold."""


class ScenarioItem(pytest.Item):
    """One scenario of a YAML suite, run against ``--testbed-stack``."""

    def __init__(self, *, test, runner, **kwargs):
        super().__init__(**kwargs)
        self.test, self.runner = test, runner
        self.user_properties.append(("reference", test.reference))

    def runtest(self):
        """Run the scenario; raise VerdictMismatch unless its verdict is the expected one."""
        from .results import expected_verdict
        result = self.runner.run(self.test)
        want = expected_verdict(self.runner.expected, self.test.id)
        self.user_properties.append(("verdict", result.verdict))
        if result.verdict != want:
            raise VerdictMismatch(f"{self.test.id} on {self.runner.manifest.name}: verdict "
                                  f"{result.verdict}, expected {want}"
                                  + (f": {result.reason}" if result.reason else ""))

    def repr_failure(self, excinfo, style=None):
        """The verdict and its reason, without a traceback."""
        if isinstance(excinfo.value, VerdictMismatch):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        """Where the item comes from: its scenario file."""
        return self.test.source or self.test.id, None, f"{self.test.id}: {self.test.title}"


class SuiteRunner:
    """Runs scenarios one by one in this process, keeping one topology up per group."""

    def __init__(self, config):
        self.config = config
        self.manifest = self.expected = None
        self.group = self.key = self.engine_runner = None
        self.scratch = None       # the temporary folder for pcaps, unless --testbed-out

    def _prepare(self):
        import tempfile
        from pathlib import Path
        from . import expected, stacks
        from .engine import Runner
        self.manifest = stacks.load(self.config.getoption("testbed_stack"))
        stacks.require_built(self.manifest)
        self.expected = expected.load(expected.path_for(self.manifest.path)) or {}
        out = self.config.getoption("testbed_out")
        if out is None:
            out = self.scratch = tempfile.mkdtemp(prefix="testbed-pytest-")
        worker = getattr(self.config, "workerinput", {}).get("workerid")
        self.engine_runner = Runner(self.manifest, Path(out) / (worker or "main"))

    def run(self, test):
        """Run *test*; its Result."""
        if self.engine_runner is None:
            self._prepare()
        key = (test.topology, test.family)
        if key != self.key:
            self.close()
            self.group, self.key = self.engine_runner.open_group(*key), key
        return self.group.run(test)

    def close(self):
        """Take the current group's topology down."""
        if self.group is not None:
            self.group.close()
        self.group = self.key = None

    def finish(self):
        """Take everything down and remove the temporary folder, if one was made."""
        import shutil
        self.close()
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
