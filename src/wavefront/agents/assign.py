"""Choose the agent for a task: the task's own choice, else rules, else a default.

The rules follow the story workflow's "Agent Assignment": look at the files a task names and the
technologies its text mentions, and pick the specialist — Python files to a
python-developer, Dockerfiles to devops, test files to an SDET, and so on. A rule only
counts when a profile it could pick exists, so a project without a `golang-developer`
falls through to the next best match or the default. Roles that do not write code (tests,
documents, designs) are chosen only for a task that asks for that work.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import PurePosixPath

from wavefront.model import AgentProfile, Task

__all__ = ["RULES", "Assignment", "Rule", "assign_agent"]


@dataclass(frozen=True)
class Assignment:
    """The agent chosen for a task, and why (shown by `wavefront plan`)."""

    agent: str
    reason: str


@dataclass(frozen=True)
class Rule:
    """One specialism: the profiles that can take it (first existing one wins), the file
    name patterns and folders that show it, and the words that mention it."""

    name: str
    agents: tuple[str, ...]
    patterns: tuple[str, ...] = ()
    folders: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    # A role that writes code. The others (tests, documents, designs, reviews) take a task
    # only when it asks for their kind of work, not because its text mentions it.
    implements: bool = True

    def owns(self, path: str) -> bool:
        pure = PurePosixPath(path.lower())
        if any(fnmatch(pure.name, pattern) for pattern in self.patterns):
            return True
        return any(folder in pure.parts[:-1] for folder in self.folders)

    def mentions(self, text: str) -> list[str]:
        # One search for the whole rule first: most rules mention nothing in most tasks,
        # and then no word's own pattern is compiled or run.
        if not self.words or not _any_word_pattern(self.words).search(text):
            return []
        return [word for word in self.words if _word_pattern(word).search(text)]


# Order matters twice: a file belongs to the first rule that owns it (a test file is a
# test before it is Python), and equal scores go to the earlier rule.
RULES: tuple[Rule, ...] = (
    Rule(
        "security",
        ("security-engineer",),
        patterns=("security.md",),
        words=(
            "security audit",
            "vulnerability",
            "vulnerabilities",
            "penetration test",
            "pentest",
            "threat model",
            "owasp",
            "xss",
            "csrf",
            "sql injection",
            "cve",
            "secrets scanning",
            "security",
        ),
        implements=False,
    ),
    Rule(
        "devops",
        ("devops-engineer",),
        patterns=(
            "dockerfile",
            "dockerfile.*",
            "*.dockerfile",
            "docker-compose*.yml",
            "docker-compose*.yaml",
            "compose.yaml",
            "compose.yml",
            ".gitlab-ci.yml",
            "jenkinsfile",
            "*.tf",
            "*.tfvars",
            "chart.yaml",
            "procfile",
        ),
        folders=(
            ".github",
            ".circleci",
            "k8s",
            "kubernetes",
            "helm",
            "terraform",
            "deploy",
            "infra",
            "infrastructure",
        ),
        words=(
            "docker",
            "kubernetes",
            "terraform",
            "ci/cd",
            "ci pipeline",
            "github actions",
            "deployment",
            "deploy",
            "infrastructure",
            "monitoring",
            "helm",
        ),
    ),
    Rule(
        "end-to-end tests",
        ("test-engineer", "sdet"),
        patterns=("*.e2e.ts", "*.e2e.js", "*.cy.ts", "*.cy.js"),
        folders=("e2e", "cypress", "playwright"),
        words=(
            "e2e",
            "end-to-end",
            "user journey",
            "user journeys",
            "cross-browser",
            "regression testing",
        ),
        implements=False,
    ),
    Rule(
        "tests",
        ("sdet", "test-engineer"),
        patterns=(
            "test_*.py",
            "*_test.py",
            "*_test.go",
            "*.test.ts",
            "*.test.tsx",
            "*.test.js",
            "*.test.jsx",
            "*.spec.ts",
            "*.spec.tsx",
            "*.spec.js",
            "conftest.py",
        ),
        folders=("tests", "test", "__tests__", "spec"),
        words=(
            "unit tests",
            "integration tests",
            "contract tests",
            "test suite",
            "test coverage",
            "write tests",
            "pytest",
            "jest",
            "vitest",
        ),
        implements=False,
    ),
    Rule(
        "performance",
        ("performance-engineer",),
        patterns=("*bench*", "*.jmx", "locustfile.py", "k6*.js"),
        folders=("benchmarks", "bench", "perf", "load-tests"),
        words=(
            "performance",
            "load test",
            "load testing",
            "latency",
            "throughput",
            "profiling",
            "benchmark",
            "bottleneck",
        ),
        implements=False,
    ),
    Rule(
        "integration",
        ("integration-engineer",),
        patterns=("integration-report.md",),
        words=(
            "integration reconciliation",
            "integration report",
            "reconcile",
            "smoke test",
            "smoke tests",
        ),
        implements=False,
    ),
    Rule(
        "architecture",
        ("architect",),
        patterns=("architecture.md", "interface-*.md", "dependencies.md", "adr-*.md"),
        folders=("adr", "architecture"),
        words=(
            "architecture",
            "api contract",
            "api contracts",
            "system design",
            "feature boundaries",
            "data model",
        ),
        implements=False,
    ),
    Rule(
        "requirements",
        ("product-manager",),
        patterns=("user-stories.md", "acceptance-criteria.md", "golden-paths.md", "prd.md"),
        folders=("product",),
        words=(
            "user stories",
            "golden path",
            "golden paths",
            "prd",
            "product requirements",
            "sign-off",
        ),
        implements=False,
    ),
    Rule(
        "design",
        ("frontend-design", "ux-designer"),
        patterns=("wireframes.md", "*.fig", "*.sketch", "design-system*", "*.excalidraw"),
        folders=("design", "wireframes", "mockups"),
        words=(
            "wireframe",
            "wireframes",
            "mockup",
            "mockups",
            "user flow",
            "user flows",
            "design system",
            "ux",
            "ui design",
            "design spec",
        ),
        implements=False,
    ),
    Rule(
        "documentation",
        ("documentation-writer",),
        patterns=("readme*", "changelog*", "*.rst", "*.adoc", "mkdocs.yml", "conf.py"),
        folders=("docs", "doc", "documentation"),
        words=(
            "documentation",
            "readme",
            "user guide",
            "api docs",
            "release notes",
            "changelog",
            "tutorial",
        ),
        implements=False,
    ),
    Rule(
        "go",
        ("golang-developer",),
        patterns=("*.go", "go.mod", "go.sum"),
        words=("golang", "go module", "goroutine", "goroutines"),
    ),
    Rule(
        "next.js",
        ("nextjs-developer", "react-developer"),
        patterns=("next.config.*",),
        words=("next.js", "nextjs", "app router", "server components"),
    ),
    Rule(
        "react / typescript",
        ("react-developer", "nextjs-developer"),
        patterns=(
            "*.tsx",
            "*.jsx",
            "*.ts",
            "*.js",
            "*.vue",
            "*.svelte",
            "package.json",
            "tsconfig.json",
        ),
        words=("react", "typescript", "frontend component", "jsx", "tsx"),
    ),
    Rule(
        "python",
        ("python-developer",),
        patterns=("*.py", "pyproject.toml", "requirements*.txt", "setup.cfg"),
        words=("python", "django", "fastapi", "flask", "pydantic", "sqlalchemy"),
    ),
)

# A file is stronger evidence than a word in the body; a word in the title is strong too.
_FILE_POINTS = 2
_TITLE_POINTS = 2
_TEXT_POINTS = 1


def assign_agent(
    task: Task,
    profiles: Mapping[str, AgentProfile],
    default: str = "full-stack-engineer",
) -> Assignment:
    """The agent for `task`: its own `agent` field, else the best rule, else `default`.

    An `agent` the task names but no profile has is kept (the plan reports it), and the
    reason says it is unknown.
    """
    if task.agent:
        if task.agent in profiles:
            return Assignment(task.agent, "named by the task")
        # `CoderAgent`, `coder_agent` and `Coder Agent` all name the profile `coder-agent`.
        wanted = _name_key(task.agent)
        same = next((name for name in profiles if _name_key(name) == wanted), None)
        if same is not None:
            return Assignment(same, f"named by the task (as {task.agent!r})")
        return Assignment(task.agent, f"named by the task, but no profile {task.agent!r} exists")
    best = _best_rule(task, profiles)
    if best is not None:
        return best
    if default in profiles:
        return Assignment(default, "default (no rule matched the task's files or text)")
    return Assignment(default, f"default, but no profile {default!r} exists")


def _asks_for(rule: Rule, task: Task, files: tuple[str, ...]) -> bool:
    """Whether the task asks for `rule`'s kind of work: always for a role that implements;
    for the others, when the title says so or every file the task names is theirs (a story
    with `src/auth.py` and `tests/test_auth.py` is implementation with its tests)."""
    if rule.implements or rule.mentions(task.title.lower()):
        return True
    return bool(files) and all(rule.owns(path) for path in files)


def _name_key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _best_rule(task: Task, profiles: Mapping[str, AgentProfile]) -> Assignment | None:
    evidence: dict[str, list[str]] = {rule.name: [] for rule in RULES}
    scores: dict[str, int] = dict.fromkeys(evidence, 0)
    for path in dict.fromkeys((*task.files, *task.deliverables)):
        owner = next((rule for rule in RULES if rule.owns(path)), None)
        if owner is not None:
            scores[owner.name] += _FILE_POINTS
            evidence[owner.name].append(path)
    title = task.title.lower()
    text = "\n".join((task.body, *task.acceptance_criteria, *task.tags)).lower()
    for rule in RULES:
        for word in rule.mentions(title):
            scores[rule.name] += _TITLE_POINTS
            evidence[rule.name].append(f"{word!r} in the title")
        for word in rule.mentions(text):
            scores[rule.name] += _TEXT_POINTS
            evidence[rule.name].append(repr(word))
    task_files = tuple(dict.fromkeys((*task.files, *task.deliverables)))
    chosen: tuple[int, Rule, str] | None = None
    # Evidence for a specialist nobody defined (say python-developer) is evidence for the
    # generalist default, not for whichever specialist happens to exist (say the SDET).
    unstaffed = 0
    for rule in RULES:
        agent = next((name for name in rule.agents if name in profiles), None)
        if agent is None:
            unstaffed += scores[rule.name]
            continue
        if scores[rule.name] == 0 or not _asks_for(rule, task, task_files):
            continue
        if chosen is None or scores[rule.name] > chosen[0]:
            chosen = (scores[rule.name], rule, agent)
    if chosen is None or unstaffed >= chosen[0]:
        return None
    _, rule, agent = chosen
    shown = evidence[rule.name][:3]
    more = len(evidence[rule.name]) - len(shown)
    detail = ", ".join(shown) + (f" and {more} more" if more else "")
    return Assignment(agent, f"{rule.name}: {detail}")


_PATTERNS: dict[str, re.Pattern[str]] = {}
_BEFORE, _AFTER = r"(?<![\w./-])", r"(?![\w-]|\.\w)"


@functools.cache
def _any_word_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    """Any of `words`, each as `_word_pattern` finds it (compiled once per rule)."""
    return re.compile(_BEFORE + "(?:" + "|".join(map(re.escape, words)) + ")" + _AFTER)


def _word_pattern(word: str) -> re.Pattern[str]:
    """`word` as a whole word or phrase: `ux` does not match `linux`, and `architecture`
    does not match the file name `ARCHITECTURE.md` that every implementer is told to read."""
    pattern = _PATTERNS.get(word)
    if pattern is None:
        pattern = re.compile(_BEFORE + re.escape(word) + _AFTER)
        _PATTERNS[word] = pattern
    return pattern
