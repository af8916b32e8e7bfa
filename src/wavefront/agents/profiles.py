"""Agent profiles: who does the work, read from agent files or built in.

Two file formats are read, both markdown with YAML front matter and the role prompt as
the body:

- Claude Code subagents (`.claude/agents/*.md`): `name`, `description`, `tools` (a comma
  string or a list), `model` (`inherit` means "the runner's default"), plus any other keys.
- OpenCode agents (`.opencode/agents/*.md`, older `.opencode/agent/`): the file name is the
  agent's name; `description`, `mode`, `model`, `temperature`, `tools` as a map of
  booleans, `permission`, plus any other keys.

Keys that have no field on `AgentProfile` are kept in `settings`, so a runner can pass
them on to its CLI. `load_profiles` layers built-ins, project files and `wavefront.yaml`.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from frontmatter.default_handlers import YAMLHandler

from wavefront.errors import BacklogError, ConfigError
from wavefront.model import AgentProfile
from wavefront.yamlsource import YamlDocument

if TYPE_CHECKING:
    from wavefront.config import AgentConfig, ProjectConfig

__all__ = [
    "PROFILE_DIRS",
    "builtin_profiles",
    "load_profile_file",
    "load_profiles",
    "parse_profile",
]

# Where project agent files live, in the order they are layered (later wins).
PROFILE_DIRS = (".claude/agents", ".opencode/agents", ".opencode/agent")

_HANDLER = YAMLHandler()

# A top-level `key: value` line whose value is plain (unquoted) text.
_PLAIN_LINE = re.compile(r"^(?P<key>[A-Za-z_][\w-]*):[ \t]+(?P<value>[^\s\"'\[{|>&*!%@`#].*)$")


def load_profile_file(path: Path) -> AgentProfile:
    """Read one Claude Code or OpenCode agent file; bad front matter raises `BacklogError`
    naming the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BacklogError(path, None, "no such agent file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BacklogError(path, None, f"cannot read agent file: {exc}") from None
    return parse_profile(text, path, origin=str(path))


def parse_profile(text: str, path: Path, origin: str) -> AgentProfile:
    """Build a profile from the text of an agent file (`path` names it in errors)."""
    text = text.removeprefix("\ufeff")
    if not _HANDLER.detect(text):
        raise BacklogError(
            path,
            1,
            "no front matter: an agent file starts with '---', the settings "
            "(name, description, ...), then '---' and the role prompt",
        )
    try:
        before, front, body = _HANDLER.FM_BOUNDARY.split(text, 2)
    except ValueError:
        raise BacklogError(path, 1, "front matter is not closed by a '---' line") from None
    offset = before.count("\n")  # lines above the opening '---'
    doc, note = _parse_front_matter(front, path, offset)
    meta = doc.data if doc.data is not None else {}
    if not isinstance(meta, Mapping):
        raise BacklogError(path, offset + 2, "front matter must be a mapping of settings")

    def line(key: str) -> int:
        return doc.line_of(key) + offset

    opencode = _is_opencode(path, meta)
    settings: dict[str, Any] = {"format": "opencode" if opencode else "claude"}
    if note:
        settings["note"] = note
    name = path.stem if opencode else _string(meta.get("name"), path, line("name"), "name")
    description = _string(meta.get("description"), path, line("description"), "description")
    model = _string(meta.get("model"), path, line("model"), "model")
    runner = _string(meta.get("runner"), path, line("runner"), "runner")
    tools = _tools(meta.get("tools"), path, line("tools"))
    for key, value in meta.items():
        if key in ("description", "model", "runner") or (key == "name" and not opencode):
            continue
        if key == "tools" and not isinstance(value, Mapping):
            continue  # fully held by `tools`; a map keeps its "*" default here
        settings[str(key)] = value
    return AgentProfile(
        name=name or path.stem,
        description=" ".join((description or "").split()),
        prompt=body.strip(),
        origin=origin,
        model=None if model in (None, "", "inherit") else model,
        tools=tools,
        runner=runner or None,
        settings=settings,
    )


def _parse_front_matter(front: str, path: Path, offset: int) -> tuple[YamlDocument, str]:
    """The front matter as a document, and a note when plain text had to be quoted.

    Agent files in the wild often hold values YAML rejects (`description: Use when: ...`);
    the tools that own these files read them anyway. When strict YAML fails, plain
    top-level values are quoted and parsed again; if that fails too, the first error is
    reported with its line in the file.
    """
    try:
        return _compose(front, path), ""
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = offset + mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        first = BacklogError(path, line, f"invalid YAML in front matter: {problem}")
    repaired, keys = _quote_plain_values(front)
    if keys:
        try:
            note = f"read {', '.join(keys)} as plain text (not valid YAML)"
            return _compose(repaired, path), note
        except yaml.YAMLError:
            pass
    raise first


def _compose(text: str, path: Path) -> YamlDocument:
    data = yaml.safe_load(text)
    return YamlDocument(path=path, data=data, root=yaml.compose(text, Loader=yaml.SafeLoader))


def _quote_plain_values(front: str) -> tuple[str, list[str]]:
    """Top-level plain values that YAML would misread, rewritten as quoted strings."""
    lines: list[str] = []
    keys: list[str] = []
    for raw in front.split("\n"):
        match = _PLAIN_LINE.match(raw)
        value = match.group("value").rstrip() if match else ""
        if match and (": " in value or " #" in value or value.endswith(":")):
            keys.append(match.group("key"))
            # A JSON string is a valid YAML double-quoted scalar.
            raw = f"{match.group('key')}: {json.dumps(value, ensure_ascii=False)}"
        lines.append(raw)
    return "\n".join(lines), keys


def _is_opencode(path: Path, meta: Mapping[Any, Any]) -> bool:
    if ".opencode" in path.parts:
        return True
    if ".claude" in path.parts:
        return False
    return "mode" in meta or isinstance(meta.get("tools"), Mapping) or "permission" in meta


def _string(value: Any, path: Path, line: int, key: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise BacklogError(path, line, f"{key}: expected text, got {type(value).__name__}")


def _tools(value: Any, path: Path, line: int) -> tuple[str, ...]:
    """Tool names from a comma string, a list, or an OpenCode map of booleans (the enabled
    ones; `"*": false` keeps only those named true)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(t.strip() for t in value.split(",") if t.strip())
    if isinstance(value, list) and all(isinstance(t, str) for t in value):
        return tuple(t.strip() for t in value if t.strip())
    if isinstance(value, Mapping) and all(isinstance(v, bool) for v in value.values()):
        return tuple(str(k) for k, enabled in value.items() if enabled and k != "*")
    raise BacklogError(
        path,
        line,
        "tools: expected a comma-separated string, a list of names, "
        "or a map of tool names to true/false",
    )


@functools.cache
def _builtin() -> dict[str, AgentProfile]:
    folder = resources.files("wavefront.agents").joinpath("builtin")
    profiles: dict[str, AgentProfile] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".md"):
            profile = parse_profile(entry.read_text(encoding="utf-8"), Path(entry.name), "builtin")
            profiles[profile.name] = profile
    return profiles


def builtin_profiles() -> dict[str, AgentProfile]:
    """The roles wavefront ships: the agents its built-in workflows name."""
    return dict(_builtin())


def _agent_files(root: Path) -> Iterator[Path]:
    for folder in PROFILE_DIRS:
        base = root / folder
        if base.is_dir():
            yield from sorted(p for p in base.rglob("*.md") if p.is_file())


def load_profiles(
    root: Path | None = None, config: ProjectConfig | None = None
) -> dict[str, AgentProfile]:
    """Every profile a run can use, by name.

    Built-ins first, then agent files under `root` (`.claude/agents/`, `.opencode/agents/`,
    `.opencode/agent/`, subfolders included), then the agents of `wavefront.yaml`; a later
    one with the same name replaces the earlier, and `origin` says which one is in use.
    Markdown files without front matter (a README beside the agents) are not agents and
    are passed over.
    """
    profiles = builtin_profiles()
    if root is not None:
        for path in _agent_files(root):
            head = path.read_text(encoding="utf-8", errors="replace").removeprefix("\ufeff")
            if not _HANDLER.detect(head):
                continue
            profile = load_profile_file(path)
            profiles[profile.name] = profile
    if config is not None:
        for name, agent in config.agents.items():
            profiles[name] = _from_config(name, agent, config, profiles)
    return profiles


def _from_config(
    name: str, agent: AgentConfig, config: ProjectConfig, known: Mapping[str, AgentProfile]
) -> AgentProfile:
    """An agent of `wavefront.yaml`, on top of the profile or file it names (if any)."""
    path = config.source or Path("wavefront.yaml")
    line = config.agent_line(name)
    base: AgentProfile | None
    if agent.file is not None:
        file = config.base_dir / agent.file
        if not file.is_file():
            raise ConfigError(path, line, f"agent {name!r}: file {agent.file!r} does not exist")
        base = load_profile_file(file)
    elif agent.profile is not None:
        base = known.get(agent.profile)
        if base is None:
            raise ConfigError(
                path,
                line,
                f"agent {name!r}: no profile named {agent.profile!r} "
                f"(known: {', '.join(sorted(known))})",
            )
    else:
        base = known.get(name)
    if base is None and not agent.prompt:
        raise ConfigError(
            path, line, f"agent {name!r} needs a prompt, a profile to start from, or a file"
        )
    settings: dict[str, Any] = dict(base.settings) if base is not None else {}
    settings.update(agent.options)
    if base is not None:
        settings["based_on"] = base.origin if base.name == name else base.name
    if agent.gates:
        settings["gates"] = tuple(gate.to_spec(config.source) for gate in agent.gates)
    return AgentProfile(
        name=name,
        description=agent.description or (base.description if base else ""),
        prompt=agent.prompt or (base.prompt if base else ""),
        origin=f"{path}:{line}",
        model=agent.model or (base.model if base else None),
        tools=tuple(agent.tools) if agent.tools is not None else (base.tools if base else ()),
        runner=agent.runner or (base.runner if base else None),
        settings=settings,
    )
