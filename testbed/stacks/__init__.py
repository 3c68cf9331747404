"""Stacks under test: manifests in ``stacks/`` and the adapters that drive them."""

import importlib
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__, paths, schemas, yamlsource
from ..errors import InputError

# adapter name -> (module, Dut subclass); a module may define version()
ADAPTERS = {
    "linux": ("testbed.stacks.linux", "LinuxDut"),
    "null": ("testbed.stacks.null", "NullDut"),
    "process": ("testbed.stacks.process", "ProcessDut"),
}
LINUX_ONLY = ("sysctl", "setup")


@dataclass
class Manifest:
    """A stack manifest: its name, adapter, how it starts and what it can do."""

    name: str
    adapter_name: str
    path: Path
    description: str = ""
    sysctl: dict = field(default_factory=dict)
    setup: list = field(default_factory=list)
    command: list = field(default_factory=list)
    declared: frozenset | None = None     # capabilities a process manifest declares
    version_source: object = None
    needs: list = field(default_factory=list)
    build: str | None = None
    start_timeout: float = 10.0
    in_matrix: bool = True

    @property
    def folder(self):
        """The folder holding the manifest; relative paths in it start here."""
        return self.path.parent

    @property
    def adapter(self):
        """The Dut subclass that drives this stack."""
        module, cls = ADAPTERS[self.adapter_name]
        return getattr(importlib.import_module(module), cls)

    @property
    def capabilities(self):
        """What the stack can do: the manifest's declaration, else its adapter's."""
        return self.declared if self.declared is not None else self.adapter.capabilities

    def missing(self):
        """The needed files that do not exist (empty when the stack is built)."""
        return [str(p) for p in (self.folder / n for n in self.needs) if not p.exists()]

    @property
    def built(self):
        """True when everything the stack needs exists."""
        return not self.missing()

    def version(self):
        """The stack's version, read from what is installed (or "not installed")."""
        import importlib.metadata     # here: it costs a start-up ~13 ms
        source = self.version_source
        try:
            if isinstance(source, str):
                return source
            if isinstance(source, dict) and "debian" in source:
                out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", source["debian"]],
                                     capture_output=True, text=True)
                return f"{source['debian']} {out.stdout}" if out.returncode == 0 and out.stdout \
                    else "not installed"
            if isinstance(source, dict) and "python" in source:
                return f"{source['python']} {importlib.metadata.version(source['python'])}"
            if isinstance(source, dict) and "command" in source:
                out = subprocess.run([self.expand(a) for a in source["command"]],
                                     capture_output=True, text=True, timeout=10)
                return (out.stdout or out.stderr).strip().splitlines()[0] if out.returncode == 0 \
                    else "not installed"
        except (OSError, IndexError, importlib.metadata.PackageNotFoundError,
                subprocess.TimeoutExpired):
            return "not installed"
        module = importlib.import_module(ADAPTERS[self.adapter_name][0])
        return module.version() if hasattr(module, "version") else f"testbed {__version__}"

    def expand(self, argument, **fills):
        """*argument* with {stack}, {python} and the given {placeholders} filled in."""
        for key, value in {"stack": self.folder, "python": sys.executable, **fills}.items():
            argument = argument.replace(f"{{{key}}}", str(value))
        return argument

    def build_stack(self):
        """Run the manifest's build script (scripts/setup does, for every shipped stack)."""
        if self.build is not None:
            subprocess.run([str(self.folder / self.build)], check=True)

    def describe(self):
        """A JSON-able summary for ``testbed stacks``."""
        missing = self.missing()
        return {"name": self.name, "adapter": self.adapter_name, "version": self.version(),
                "built": not missing, "missing": missing,
                "capabilities": sorted(c.value for c in self.capabilities),
                "manifest": str(self.path), "description": self.description}


def find(name_or_path):
    """Resolve a stack name (``stacks/NAME/stack.yaml``) or a path to a manifest."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or "/" in str(name_or_path):
        if not candidate.is_file():
            raise InputError("no such stack manifest", candidate)
        return candidate.resolve()
    path = paths.STACKS / name_or_path / "stack.yaml"
    if not path.is_file():
        known = ", ".join(s.name for s in available())
        raise InputError(f"unknown stack {name_or_path!r} (known: {known})")
    return path


def load(name_or_path):
    """Load and check a stack manifest."""
    from .contract import Capability
    path = find(name_or_path)
    data = yamlsource.load(path)
    if not isinstance(data, dict):
        raise InputError("a stack manifest must be a mapping with name and adapter", path, 1)
    schemas.validate(data, path, "stack")
    for key in LINUX_ONLY:
        if data["adapter"] != "linux" and data.get(key):
            raise InputError(f"{key} is a setting of the linux adapter", path, data.line_of(key))
    declared = data.get("capabilities")
    build = data.get("build")
    if build is not None and not (path.parent / build).is_file():
        raise InputError(f"build script {build!r} does not exist", path, data.line_of("build"))
    return Manifest(
        data["name"], data["adapter"], path, data.get("description", ""),
        dict(data.get("sysctl") or {}), list(data.get("setup") or []),
        list(data.get("command") or []),
        None if declared is None else frozenset(Capability(c) for c in declared),
        data.get("version"), list(data.get("needs") or []), build,
        float(data.get("start_timeout", 10.0)), bool(data.get("matrix", True)))


def available():
    """The shipped stacks."""
    return [load(p) for p in sorted(paths.STACKS.glob("*/stack.yaml"))]


def require_built(manifest):
    """Raise InputError if *manifest* is not built, naming what is missing and how to build it."""
    missing = manifest.missing()
    if missing:
        raise InputError(f"stack {manifest.name} is not built ({', '.join(missing)} missing); "
                         f"run ./scripts/setup", manifest.path)


def for_nodes(topology, choices=None):
    """The stacks that nodes other than the DUT run: {node name: Manifest}.

    A node runs the stack its topology entry names (``stack:``), or the one
    *choices* gives it ({node name: stack name or manifest path}, from
    ``--stack NODE=NAME``); the others run their namespace's kernel as plain
    nodes.  Each stack must be built and able to take its node's role and
    interfaces: InputError says which cannot, before anything is built.
    """
    from .contract import Capability
    choices = dict(choices or {})
    for name in choices:
        node = topology.nodes.get(name)
        if node is None:
            raise InputError(f"--stack {name}=…: topology {topology.name} has no node {name!r} "
                             f"(nodes: {', '.join(topology.nodes)})")
        if node.role in ("tester", "switch"):
            raise InputError(f"--stack {name}=…: {name} is a {node.role}, which runs no stack")
    chosen = {}
    for node in topology.nodes.values():
        name = choices.get(node.name, node.stack)
        if node.role == "dut" or name is None:
            continue
        manifest = load(name)
        require_built(manifest)
        needs = [(bool(node.forwarding), Capability.FORWARDING, "forward"),
                 (any(i.ipv4 or i.ipv6 for i in node.interfaces.values()),
                  Capability.ADDRESSES, "take addresses"),
                 (any(i.ipv6 for i in node.interfaces.values()), Capability.IPV6, "do IPv6"),
                 (bool(node.routes), Capability.ROUTES, "take routes")]
        for needed, capability, what in needs:
            if needed and capability not in manifest.capabilities:
                raise InputError(f"stack {manifest.name} cannot run node {node.name} "
                                 f"(a {node.role}): it cannot {what}")
        chosen[node.name] = manifest
    return chosen
