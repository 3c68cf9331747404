"""Error types, each tied to the exit code the CLI reports for it."""


class TestbedError(Exception):
    """Base of the errors the CLI reports as one line, never a traceback."""

    exit_code = 1


class InputError(TestbedError):
    """Bad usage or a malformed input file (exit 2)."""

    exit_code = 2

    def __init__(self, message, path=None, line=None):
        self.path, self.line, self.detail = path, line, message
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line else f"{path}: "
        super().__init__(where + message)


class EnvironmentProblem(TestbedError):
    """The machine cannot run the test bed: not root, Mininet missing, … (exit 3)."""

    exit_code = 3


class Unsupported(TestbedError):
    """The stack under test cannot perform a control operation.

    Raised instead of silently doing nothing, so that a scenario needing the
    operation is reported as *unsupported* rather than *fail*.
    """

    exit_code = 1

    def __init__(self, stack, operation, why=""):
        self.stack, self.operation = stack, operation
        super().__init__(f"stack {stack!r} cannot {operation}" + (f": {why}" if why else ""))


class ControlError(TestbedError):
    """The stack accepted a control operation but carrying it out failed."""

    exit_code = 1
