"""JSON Schemas of the project's file formats, and validation with file:line errors."""

import hashlib
import json
from functools import cache
from pathlib import Path

from . import paths, suites, yamlsource
from .errors import InputError


@cache
def schema(kind):
    """The JSON Schema for *kind* ("topology", "stack", "scenario").

    The scenario schema's suites and DUT operations come from their one
    home: the suite table (``suites.py``) and the contract's declarations
    (``stacks/contract.py``).
    """
    text = (Path(__file__).parent / "schema" / f"{kind}.schema.json").read_text()
    loaded = json.loads(text)
    if kind == "scenario":
        from .stacks.contract import OPERATIONS
        loaded["properties"]["suite"]["enum"] = suites.names()
        loaded["$defs"]["operation"]["properties"] = {
            name: {"type": ["object", "null"], "description": op.help}
            for name, op in OPERATIONS.items() if op.scenario}
    return loaded


def validate(data, path, kind):
    """Check *data* (loaded from *path*) against the schema of *kind*; raise InputError.

    Content that passed once is remembered by its digest (with the schema's),
    in the runs' folder on tmpfs, so a repeated ``testbed up`` does not pay for
    importing jsonschema again.
    """
    digest = hashlib.sha256(json.dumps([schema(kind), data], default=str).encode()).hexdigest()
    memo = paths.RUNS / "validated" / digest
    if memo.exists():
        return
    import jsonschema   # imported here: it is slow to import and only needed now
    validator = jsonschema.Draft202012Validator(schema(kind))
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is None:
        try:
            memo.parent.mkdir(parents=True, exist_ok=True)
            memo.touch()
        except OSError:
            pass        # not root, or no /run: just validate again next time
        return
    where = list(error.absolute_path)
    message = _describe(error, where)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        # Point at the first unknown key itself, not at its mapping.
        known = error.schema.get("properties", {})
        where.append(next(key for key in error.instance if key not in known))
    raise InputError(message, path, yamlsource.line_at(data, where))


def _describe(error, where):
    place = "/".join(str(part) for part in where) or "top level"
    if error.validator == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)
        return f"{place}: {error.instance!r} is not one of: {allowed}"
    if error.validator == "additionalProperties":
        return f"{place}: {error.message.replace('Additional properties', 'unknown key(s)')}"
    if error.validator == "pattern" and where and where[-1] == "rate":
        return f"{place}: {error.instance!r} is not a rate as tc writes it (10mbit, 512kbit)"
    if error.validator == "pattern" and where and where[0] == "links" and len(where) == 3:
        return f"{place}: {error.instance!r} is not an endpoint of the form node:ifname"
    if "propertyNames" in error.relative_schema_path:
        return f"{place}: bad name {error.instance!r}"
    return f"{place}: {error.message}"
