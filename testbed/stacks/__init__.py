"""Stacks under test: manifests in ``stacks/`` and the adapters that drive them."""

import importlib
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__, paths, schemas, yamlsource
from ..errors import InputError

# adapter name -> (module, Dut subclass); a module may define version()
ADAPTERS = {
    "linux": ("testbed.stacks.linux", "LinuxDut"),
    "null": ("testbed.stacks.null", "NullDut"),
}


@dataclass
class StackSpec:
    """A stack manifest: its name, adapter and set-up."""

    name: str
    adapter_name: str
    path: Path
    description: str = ""
    sysctl: dict = field(default_factory=dict)
    setup: list = field(default_factory=list)

    @property
    def adapter(self):
        """The Dut subclass that drives this stack."""
        module, cls = ADAPTERS[self.adapter_name]
        return getattr(importlib.import_module(module), cls)

    def version(self):
        """The stack's version, read from what is installed."""
        module = importlib.import_module(ADAPTERS[self.adapter_name][0])
        return module.version() if hasattr(module, "version") else f"testbed {__version__}"

    def describe(self):
        """A JSON-able summary for ``testbed stacks``."""
        return {"name": self.name, "adapter": self.adapter_name, "version": self.version(),
                "built": True, "capabilities": sorted(c.value for c in self.adapter.capabilities),
                "manifest": str(self.path), "description": self.description}


def find(name_or_path):
    """Resolve a stack name (``stacks/NAME/stack.yaml``) or a path to a manifest."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or "/" in str(name_or_path):
        if not candidate.is_file():
            raise InputError("no such stack manifest", candidate)
        return candidate
    path = paths.STACKS / name_or_path / "stack.yaml"
    if not path.is_file():
        known = ", ".join(s.name for s in available())
        raise InputError(f"unknown stack {name_or_path!r} (known: {known})")
    return path


def load(name_or_path):
    """Load and check a stack manifest."""
    path = find(name_or_path)
    data = yamlsource.load(path)
    if not isinstance(data, dict):
        raise InputError("a stack manifest must be a mapping with name and adapter", path, 1)
    schemas.validate(data, path, "stack")
    if data["adapter"] != "linux" and (data.get("sysctl") or data.get("setup")):
        raise InputError("sysctl and setup are settings of the linux adapter", path,
                         data.line_of("sysctl" if "sysctl" in data else "setup"))
    return StackSpec(data["name"], data["adapter"], path, data.get("description", ""),
                     dict(data.get("sysctl") or {}), list(data.get("setup") or []))


def available():
    """The shipped stacks."""
    return [load(p) for p in sorted(paths.STACKS.glob("*/stack.yaml"))]
