"""The test session keeps its runs in a folder of its own (TESTBED_RUNS), so it never
sees or touches runs of anyone else on the machine; the folder goes at the end."""

import os
import shutil
import tempfile

RUNS = tempfile.mkdtemp(prefix="testbed-test-runs-")
os.environ["TESTBED_RUNS"] = RUNS      # before testbed is imported; inherited by subprocesses


def pytest_unconfigure(config):
    """Remove the session's runs folder."""
    shutil.rmtree(RUNS, ignore_errors=True)
