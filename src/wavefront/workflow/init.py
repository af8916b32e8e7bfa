"""The workflow templates wavefront ships, and `wavefront init --template NAME`.

Each template is a readable `wavefront.yaml` with a `workflow:` section, written for real
agents. Beside it, `<name>.solutions/<task id>/` holds example outputs for the `script`
runner (files to write, a `script.yaml`), so every template also runs without a model:
`init_template(..., scripted=True)` points the script runner at them.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from wavefront.errors import WavefrontError

__all__ = ["TemplateInfo", "init_template", "list_templates", "solutions_dir",
           "template_path"]

CONFIG_NAME = "wavefront.yaml"


@dataclass(frozen=True)
class TemplateInfo:
    name: str
    description: str
    path: Path


def _templates_dir() -> Path:
    return Path(str(resources.files("wavefront.workflow") / "templates"))


def list_templates() -> list[TemplateInfo]:
    """Every shipped template, with the first line of its header comment."""
    found = []
    for path in sorted(_templates_dir().glob("*.yaml")):
        first = path.read_text(encoding="utf-8").splitlines()[0].lstrip("# ").strip()
        description = first.split(":", 1)[1].strip() if ":" in first else first
        description = description.split(". ")[0].rstrip(".")
        found.append(TemplateInfo(path.stem, description, path))
    return found


def template_path(name: str) -> Path:
    path = _templates_dir() / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(t.name for t in list_templates())
        raise WavefrontError(f"no template {name!r} (templates: {known})")
    return path


def solutions_dir(name: str) -> Path:
    """The example outputs of template `name` for the script runner."""
    template_path(name)
    return _templates_dir() / f"{name}.solutions"


def init_template(name: str, directory: Path, *, scripted: bool = False,
                  force: bool = False) -> Path:
    """Write template `name` as `directory/wavefront.yaml`; return the path written.

    `scripted` adds the settings that run it with the script runner and the template's
    example outputs (no model needed). An existing `wavefront.yaml` is kept unless `force`.
    """
    text = template_path(name).read_text(encoding="utf-8")
    target = directory / CONFIG_NAME
    if target.exists() and not force:
        raise WavefrontError(f"{target} already exists; remove it or pass --force")
    if scripted:
        settings = {"defaults": {"runner": "script", "retries": 0},
                    "runners": {"script": {"solutions_dir": str(solutions_dir(name))}}}
        text += ("\n# Scripted run: the script runner writes the template's example outputs.\n"
                 + yaml.safe_dump(settings, sort_keys=False))
    directory.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target
