"""Safe YAML loading that remembers where every value came from.

Files are data: only YAML's plain scalars, lists and mappings are built
(``yaml.SafeLoader``), and nothing is evaluated.  Every mapping and list
remembers the line of each of its entries so that later checks can say
``file:line: what is wrong``.
"""

import yaml

from .errors import InputError


class Located:
    """Mixin recording the source line of a container and of each entry."""

    line = None

    def line_of(self, key):
        """The line of entry *key*, or of the container if unknown."""
        return self.lines.get(key, self.line)


class LocatedDict(dict, Located):
    """A mapping from a YAML file, with ``lines[key]`` for each key."""


class LocatedList(list, Located):
    """A sequence from a YAML file, with ``lines[index]`` for each item."""


class _Loader(yaml.SafeLoader):
    """SafeLoader building Located containers and refusing duplicate keys."""


class _FastLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """The same on libyaml's parser (~8x faster); its error messages are vaguer,
    so a file it rejects is parsed again by _Loader to report the problem."""


def _mapping(loader, node):
    loader.flatten_mapping(node)
    result = LocatedDict()
    result.line, result.lines = node.start_mark.line + 1, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            kind = "a list" if isinstance(key, list) else "a mapping" if isinstance(key, dict) \
                else type(key).__name__
            raise InputError(f"a mapping key must be a plain value, not {kind}",
                             loader.name, key_node.start_mark.line + 1)
        if isinstance(key, bool):
            raise InputError(f"the key {key_node.value!r} is read by YAML as {key}; quote it "
                             "if a word was meant", loader.name, key_node.start_mark.line + 1)
        if key in result:
            raise InputError(f"duplicate key {key!r}", loader.name, key_node.start_mark.line + 1)
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = key_node.start_mark.line + 1
    return result


def _sequence(loader, node):
    result = LocatedList(loader.construct_object(item, deep=True) for item in node.value)
    result.line = node.start_mark.line + 1
    result.lines = {i: item.start_mark.line + 1 for i, item in enumerate(node.value)}
    return result


def _number_unless_colons(loader, node):
    """YAML 1.1 reads 10:00:00:00:00:01 as a base-60 number; keep such scalars as written."""
    if ":" in node.value:
        return loader.construct_scalar(node)
    if node.tag.endswith(":int"):
        return loader.construct_yaml_int(node)
    return loader.construct_yaml_float(node)


for _cls in (_Loader, _FastLoader):
    _cls.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
    _cls.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)
    _cls.add_constructor("tag:yaml.org,2002:int", _number_unless_colons)
    _cls.add_constructor("tag:yaml.org,2002:float", _number_unless_colons)


def load(path):
    """Load one YAML document from *path* safely; raise InputError naming file and line."""
    try:
        with open(path, "rb") as stream:
            raw = stream.read()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text: byte 0x{raw[exc.start]:02x} cannot be decoded",
                         path, raw[:exc.start].count(b"\n") + 1) from None
    try:
        return _parse(_FastLoader, text, path)
    except yaml.YAMLError:
        return _parse(_Loader, text, path)


def _parse(loader_class, text, path):
    """Parse *text* with *loader_class*.

    The fast loader lets YAML errors through (``load`` then asks the
    pure-Python loader); the pure-Python loader turns them into InputError.
    """
    loader = None
    try:
        loader = loader_class(text)   # the reader already rejects control characters here
        loader.name = str(path)
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        if loader_class is not _Loader:
            raise
        raise _input_error(exc, text, path) from None
    finally:
        if loader is not None:
            loader.dispose()


def _input_error(exc, text, path):
    """The InputError for a YAML error of the pure-Python loader."""
    if isinstance(exc, yaml.reader.ReaderError):
        return InputError(f"bad YAML: unacceptable character #x{exc.character:04x}", path,
                          text[:exc.position].count("\n") + 1)
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.problem and exc.context and exc.context_mark:
            problem += f" ({exc.context} on line {exc.context_mark.line + 1})"
        # A problem found at the end of the stream is reported on the last line, not past it.
        line = min(mark.line + 1, max(1, len(text.splitlines()))) if mark else None
        return InputError(f"bad YAML: {problem}", path, line)
    return InputError(f"bad YAML: {' '.join(str(exc).split())}", path)


def line_at(data, path):
    """The source line of the value at *path* (a sequence of keys/indexes) in *data*."""
    line, node = getattr(data, "line", None), data
    for key in path:
        if isinstance(node, Located):
            line = node.line_of(key)
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            break
    return line
