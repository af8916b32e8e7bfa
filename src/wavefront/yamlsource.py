"""YAML with line numbers: load a file safely and say on which line any key or item sits.

Every hand-written YAML file wavefront reads (`wavefront.yaml`, workflows, sprint status)
goes through `load_yaml`, so a mistake is reported as `path:line: what was expected`
rather than a traceback. Values come from `yaml.safe_load`; lines come from the node tree
of `yaml.compose`, which keeps the marks that `safe_load` throws away.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, get_args, get_origin

import pydantic
import yaml

from wavefront.errors import BacklogError, ConfigError

__all__ = ["MAX_VALUES", "YamlDocument", "load_yaml", "parse_yaml", "raise_validation_error"]

# Values a document may hold with its aliases expanded: far above any hand-written file,
# far below what makes reading it slow.
MAX_VALUES = 100_000


@dataclass(frozen=True)
class YamlDocument:
    """A loaded YAML document: its plain data and the node tree that knows the lines."""

    path: Path
    data: Any
    root: yaml.Node | None

    def line_of(self, *keys: str | int) -> int:
        """The 1-based line of the key (or list item) reached by `keys` from the root.

        When the path leads nowhere (a key that is missing, an index past the end), the
        line of the deepest part that exists is returned, so a message about a missing
        field still points at the mapping that lacks it.
        """
        node = self.root
        if node is None:
            return 1
        line = node.start_mark.line + 1
        for key in keys:
            found = _child(node, key)
            if found is None:
                break
            key_node, node = found
            line = key_node.start_mark.line + 1
        return line

    def scalar_text(self, *keys: str | int) -> str | None:
        """The text of the scalar at `keys` exactly as written (None if absent or not a scalar).

        YAML reads `1.10` as the number 1.1; ids and versions need what the user typed.
        """
        node = self.root
        for key in keys:
            if node is None:
                return None
            found = _child(node, key)
            node = found[1] if found is not None else None
        return node.value if isinstance(node, yaml.ScalarNode) else None

    def duplicate_keys(self) -> list[tuple[str, int]]:
        """Keys written twice in the same mapping, with the line of the repeat.

        `safe_load` silently keeps the last one; in a hand-written settings file that
        hides a mistake, so strict readers report it.
        """
        found: list[tuple[str, int]] = []
        stack = [self.root] if self.root is not None else []
        while stack:
            node = stack.pop()
            if isinstance(node, yaml.MappingNode):
                seen: set[str] = set()
                for key_node, value_node in node.value:
                    if isinstance(key_node, yaml.ScalarNode):
                        if key_node.value in seen:
                            found.append((key_node.value, key_node.start_mark.line + 1))
                        seen.add(key_node.value)
                    stack.append(value_node)
            elif isinstance(node, yaml.SequenceNode):
                stack.extend(node.value)
        return sorted(found, key=lambda item: item[1])


def _child(node: yaml.Node, key: str | int) -> tuple[yaml.Node, yaml.Node] | None:
    """The (node that names it, value node) of `key` under `node`, or None."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(key):
                return key_node, value_node
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int):
        items: list[yaml.Node] = node.value
        if 0 <= key < len(items):
            return items[key], items[key]
    return None


def parse_yaml(text: str, path: Path) -> YamlDocument:
    """Parse YAML `text` (read from `path`, named in errors) into a `YamlDocument`."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        if root is not None:
            _check_expansion(root, path)
        # Built from a second parse: construction merges `<<` keys into the nodes it
        # reads, and the tree that gives lines must stay as written.
        data = yaml.safe_load(text)
    except yaml.reader.ReaderError as exc:
        at = text.count("\n", 0, exc.position) + 1
        what = "a NUL byte" if exc.character == 0 else f"the character {exc.character!r}"
        raise BacklogError(path, at, f"invalid YAML: {what} is not allowed") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise BacklogError(path, line, f"invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise BacklogError(path, None, f"invalid YAML: {exc}") from None
    except RecursionError:
        # PyYAML composes nested collections recursively; thousands of `[` exhaust the stack.
        raise BacklogError(path, None, "invalid YAML: nested too deeply") from None
    return YamlDocument(path=path, data=data, root=root)


def _check_expansion(root: yaml.Node, path: Path) -> None:
    """Refuse a document whose aliases expand it past `MAX_VALUES` values, or that holds
    itself: every reader of the data (pydantic, the journal's JSON, the duplicate-key
    check) walks it expanded, and ten nested aliases of ten make ten billion values."""
    sizes: dict[int, int] = {}  # by node identity: an alias is the very node it names
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise BacklogError(path, node.start_mark.line + 1,
                               "invalid YAML: an alias names a collection that holds it")
        open_nodes.add(key)
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        total = 1
        for child in children:
            total += size(child)
            if total > MAX_VALUES:
                raise BacklogError(
                    path, node.start_mark.line + 1,
                    f"invalid YAML: its aliases expand to more than {MAX_VALUES:,} values; "
                    "write the values out or use fewer nested aliases")
        open_nodes.discard(key)
        sizes[key] = total
        return total

    size(root)


def read_text(path: Path) -> str:
    """The UTF-8 text of `path`; unreadable files raise `BacklogError`."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BacklogError(path, None, "no such file") from None
    except UnicodeDecodeError as exc:
        raise BacklogError(path, None, f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise BacklogError(path, None, f"cannot read: {exc.strerror or exc}") from None


def load_yaml(path: Path) -> YamlDocument:
    """Read and parse the YAML file at `path`; unreadable or invalid files raise
    `BacklogError` naming the line."""
    return parse_yaml(read_text(path), path)


def raise_validation_error(
    path: Path,
    doc: YamlDocument,
    exc: pydantic.ValidationError,
    error_class: type[BacklogError] = ConfigError,
    model: type[pydantic.BaseModel] | None = None,
) -> NoReturn:
    """Turn pydantic's first error into one `path:line: field: what was expected` error.

    `model` (the validated root model) lets an unknown key list the keys that are allowed.
    """
    first = exc.errors(include_url=False)[0]
    keys = _data_keys(doc.data, tuple(first["loc"]))
    where = _field_path(keys)
    kind = first["type"]
    if kind == "extra_forbidden" and keys:
        allowed = _allowed_keys(model, keys[:-1]) if model is not None else ()
        hint = f" (expected one of: {', '.join(allowed)})" if allowed else ""
        parent = _field_path(keys[:-1])
        prefix = f"{parent}: " if parent else ""
        message = f"{prefix}unknown key {keys[-1]!r}{hint}"
    elif kind == "missing" and keys:
        parent = _field_path(keys[:-1])
        prefix = f"{parent}: " if parent else ""
        message = f"{prefix}missing required key {keys[-1]!r}"
    else:
        message = f"{where}: {_expected(first)}" if where else _expected(first)
    raise error_class(path, doc.line_of(*keys), message)


def _data_keys(data: Any, loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """The part of pydantic's `loc` that names real keys of `data`.

    pydantic inserts the names of union members and validators into `loc`
    (`function-after[...]`, `GateSpec`); those are not in the file and are dropped.
    The last element is kept even when absent: it is the missing or unknown key.
    """
    keys: list[str | int] = []
    current = data
    for index, key in enumerate(loc):
        last = index == len(loc) - 1
        if _has(current, key):
            keys.append(key)
            current = current[key]
        elif last:
            keys.append(key)
    return tuple(keys)


def _has(data: Any, key: str | int) -> bool:
    """Whether `data` (a mapping or a list) holds `key`."""
    if isinstance(data, Mapping):
        return key in data
    if isinstance(data, Sequence) and not isinstance(data, str) and isinstance(key, int):
        return 0 <= key < len(data)
    return False


def _field_path(keys: Sequence[str | int]) -> str:
    """`tasks[2].depends_on` for ("tasks", 2, "depends_on")."""
    text = ""
    for key in keys:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text


def _expected(error: Any) -> str:
    """pydantic's message reworded as what the file should have said."""
    message = str(error["msg"])
    if message.startswith("Value error, "):
        return message.removeprefix("Value error, ")
    if message.startswith("Input should be "):
        message = "expected " + message.removeprefix("Input should be ")
    elif message:
        message = message[0].lower() + message[1:]
    value = error.get("input")
    if value is not None and not isinstance(value, (Mapping, list)):
        message += f", got {value!r}"
    return message


def _allowed_keys(model: type[pydantic.BaseModel], keys: Sequence[str | int]) -> tuple[str, ...]:
    """The field names of the model reached from `model` by `keys` (empty when unknown)."""
    current: Any = model
    for key in keys:
        current = _step(current, key)
        if current is None:
            return ()
    current = _unwrap_model(current)
    if current is None:
        return ()
    return tuple(info.alias or name for name, info in current.model_fields.items())


def _step(annotation: Any, key: str | int) -> Any:
    """The annotation of the value reached by `key` from a value of type `annotation`."""
    model = _unwrap_model(annotation)
    if model is not None and isinstance(key, str):
        for name, info in model.model_fields.items():
            if key in (name, info.alias):
                return info.annotation
        return None
    for candidate in _members(annotation):
        origin = get_origin(candidate)
        args = get_args(candidate)
        if origin in (list, tuple, Sequence) and isinstance(key, int) and args:
            return args[0]
        if origin in (dict, Mapping) and len(args) == 2:
            return args[1]
    return None


def _members(annotation: Any) -> tuple[Any, ...]:
    """The members of a union (or the annotation itself), `None` left out."""
    args = get_args(annotation)
    origin = get_origin(annotation)
    if origin is not None and args and origin not in (list, tuple, dict, Sequence, Mapping):
        return tuple(a for a in args if a is not type(None))
    return (annotation,)


def _unwrap_model(annotation: Any) -> type[pydantic.BaseModel] | None:
    """The pydantic model inside `annotation` (itself, or a member of an optional union)."""
    for candidate in _members(annotation):
        if isinstance(candidate, type) and issubclass(candidate, pydantic.BaseModel):
            return candidate
        # Annotated[Model, ...]: get_args gives the model first
        inner = get_args(candidate)
        if inner and isinstance(inner[0], type) and issubclass(inner[0], pydantic.BaseModel):
            return inner[0]
    return None
