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


def _mapping(loader, node):
    loader.flatten_mapping(node)
    result = LocatedDict()
    result.line, result.lines = node.start_mark.line + 1, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise InputError(f"a mapping key must be a plain value, not {type(key).__name__}",
                             loader.name, key_node.start_mark.line + 1)
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


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)


def load(path):
    """Load one YAML document from *path* safely; raise InputError naming file and line."""
    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path) from None
    loader = _Loader(text)
    loader.name = str(path)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise InputError(f"bad YAML: {problem}", path, mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise InputError(f"bad YAML: {exc}", path) from None
    finally:
        loader.dispose()
    return data


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
