"""yamlsource: safe YAML with the line of every key, and pydantic errors as one line."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

from wavefront.errors import BacklogError, ConfigError
from wavefront.yamlsource import load_yaml, parse_yaml, raise_validation_error

SAMPLE = """\
version: 1
name: demo
tasks:
  - id: a
    title: First
  - id: b
    title: Second
    depends_on:
      - a
limits:
  max_parallel: 2
"""


@pytest.mark.parametrize(
    ("keys", "line"),
    [
        ((), 1),
        (("version",), 1),
        (("name",), 2),
        (("tasks",), 3),
        (("tasks", 0), 4),
        (("tasks", 0, "title"), 5),
        (("tasks", 1), 6),
        (("tasks", 1, "depends_on"), 8),
        (("tasks", 1, "depends_on", 0), 9),
        (("limits", "max_parallel"), 11),
        # missing parts fall back to the nearest parent that exists
        (("tasks", 1, "agent"), 6),
        (("tasks", 7, "title"), 3),
        (("nothing",), 1),
    ],
)
def test_line_of(tmp_path: Path, keys: tuple[str | int, ...], line: int) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(SAMPLE)
    doc = load_yaml(path)
    assert doc.line_of(*keys) == line


def test_data_is_plain_python(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(SAMPLE)
    doc = load_yaml(path)
    assert doc.data["tasks"][1]["depends_on"] == ["a"]


def test_integer_keys_match_by_text(tmp_path: Path) -> None:
    doc = parse_yaml("1:\n  x: 1\n2:\n  x: 2\n", tmp_path / "n.yaml")
    assert doc.line_of(2, "x") == 4


def test_empty_document(tmp_path: Path) -> None:
    doc = parse_yaml("", tmp_path / "e.yaml")
    assert doc.data is None
    assert doc.line_of("a") == 1


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: 1\nb: [1, 2\nc: 3\n", 3),
        ("a: 1\n  b: 2\n", 2),
        ("a: 1\nb: 'x\n", 3),
        ("a: !!python/object:os.system {}\n", 1),
    ],
)
def test_syntax_errors_name_the_line(tmp_path: Path, text: str, line: int) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(BacklogError) as info:
        load_yaml(path)
    assert info.value.line == line
    assert str(info.value).startswith(f"{path}:{line}: invalid YAML")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BacklogError, match="no such file"):
        load_yaml(tmp_path / "absent.yaml")


class Item(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    id: str
    title: str
    depends_on: list[str] = []
    weight: float = 1.0


class Root(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    version: int = 1
    name: str | None = None
    tasks: list[Item] = []
    limits: dict[str, int] = {}


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "tasks:\n  - id: a\n    title: A\n    dependson: [b]\n",
            4,
            "tasks[0]: unknown key 'dependson' (expected one of: id, title, depends_on, weight)",
        ),
        (
            "nmae: x\n",
            1,
            "unknown key 'nmae' (expected one of: version, name, tasks, limits)",
        ),
        (
            "tasks:\n  - id: a\n  - id: b\n    title: B\n",
            2,
            "tasks[0]: missing required key 'title'",
        ),
        (
            "tasks:\n  - id: a\n    title: A\n    weight: heavy\n",
            4,
            "tasks[0].weight: expected a valid number, unable to parse string as a number, "
            "got 'heavy'",
        ),
        ("version: many\n", 1, "version: expected a valid integer"),
        ("limits:\n  x: 1\n  y: lots\n", 3, "limits.y: expected a valid integer"),
    ],
)
def test_validation_errors(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(text)
    doc = load_yaml(path)
    with pytest.raises(pydantic.ValidationError) as validation:
        Root.model_validate(doc.data)
    with pytest.raises(ConfigError) as info:
        raise_validation_error(path, doc, validation.value, model=Root)
    assert info.value.line == line
    assert str(info.value).startswith(f"{path}:{line}: {message}")


def test_validation_error_class_and_no_model(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text("tasks:\n  - id: a\n    title: A\n    extra: 1\n")
    doc = load_yaml(path)
    with pytest.raises(pydantic.ValidationError) as validation:
        Root.model_validate(doc.data)
    with pytest.raises(BacklogError) as info:
        raise_validation_error(path, doc, validation.value, error_class=BacklogError)
    assert type(info.value) is BacklogError
    assert info.value.reason == "tasks[0]: unknown key 'extra'"


def test_duplicate_keys(tmp_path: Path) -> None:
    doc = parse_yaml("a: 1\nb:\n  - {x: 1, x: 2}\n  - y: 1\na: 3\n", tmp_path / "d.yaml")
    assert doc.duplicate_keys() == [("x", 3), ("a", 5)]
    assert parse_yaml(SAMPLE, tmp_path / "ok.yaml").duplicate_keys() == []
