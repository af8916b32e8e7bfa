"""Agent assignment: the task's own choice, then rules by files and words, then a default."""

from __future__ import annotations

from pathlib import Path

import pytest

from wavefront.agents import Assignment, assign_agent, builtin_profiles
from wavefront.agents.assign import RULES
from wavefront.model import AgentProfile, SourceLocation, Task

HERE = SourceLocation(Path("wavefront.yaml"), 1)


def profile(name: str) -> AgentProfile:
    return AgentProfile(name=name, description=name, prompt="", origin="test")


BUILTIN = builtin_profiles()
SPECIALISTS = {
    **BUILTIN,
    **{
        name: profile(name)
        for name in (
            "python-developer",
            "golang-developer",
            "react-developer",
            "nextjs-developer",
            "frontend-design",
        )
    },
}


def task(
    title: str = "Do the work",
    *,
    body: str = "",
    files: tuple[str, ...] = (),
    deliverables: tuple[str, ...] = (),
    agent: str | None = None,
    criteria: tuple[str, ...] = (),
) -> Task:
    return Task(
        id="1.1",
        title=title,
        source=HERE,
        body=body,
        files=files,
        deliverables=deliverables,
        agent=agent,
        acceptance_criteria=criteria,
    )


# (case, task, profiles, expected agent, text the reason must contain)
CASES: list[tuple[str, Task, str, str, str]] = [
    (
        "explicit known",
        task(agent="architect", files=("app.py",)),
        "builtin",
        "architect",
        "named by the task",
    ),
    (
        "explicit unknown kept",
        task(agent="wizard"),
        "builtin",
        "wizard",
        "no profile 'wizard' exists",
    ),
    (
        "python files",
        task(files=("src/api/app.py", "src/api/models.py")),
        "specialists",
        "python-developer",
        "src/api/app.py",
    ),
    (
        "go files",
        task(deliverables=("cmd/server/main.go", "go.mod")),
        "specialists",
        "golang-developer",
        "main.go",
    ),
    (
        "tsx files",
        task(files=("web/src/Profile.tsx",)),
        "specialists",
        "react-developer",
        "Profile.tsx",
    ),
    (
        "next.js words",
        task("Add app router pages", body="Use Next.js server components."),
        "specialists",
        "nextjs-developer",
        "next.js",
    ),
    (
        "react words only",
        task("Build the React profile editor"),
        "specialists",
        "react-developer",
        "'react' in the title",
    ),
    (
        "design spec to frontend-design",
        task("Wireframes for checkout", deliverables=(".work/foundation/design/WIREFRAMES.md",)),
        "specialists",
        "frontend-design",
        "WIREFRAMES.md",
    ),
    (
        "design spec to ux-designer",
        task("Wireframes and user flows for checkout"),
        "builtin",
        "ux-designer",
        "wireframes",
    ),
    (
        "test files before python",
        task(files=("tests/test_orders.py", "tests/conftest.py")),
        "specialists",
        "sdet",
        "tests/test_orders.py",
    ),
    (
        "test files without sdet",
        task(files=("src/orders.test.ts",)),
        "no-sdet",
        "test-engineer",
        "orders.test.ts",
    ),
    (
        "e2e journeys",
        task("E2E user journeys", body="Cross-browser regression testing."),
        "builtin",
        "test-engineer",
        "e2e",
    ),
    (
        "docs",
        task("Write the user guide", deliverables=("docs/guide.md", "README.md")),
        "builtin",
        "documentation-writer",
        "docs/guide.md",
    ),
    (
        "dockerfile",
        task(files=("Dockerfile", "docker-compose.yml")),
        "builtin",
        "devops-engineer",
        "Dockerfile",
    ),
    (
        "ci workflow",
        task(files=(".github/workflows/ci.yml",)),
        "builtin",
        "devops-engineer",
        ".github/workflows/ci.yml",
    ),
    (
        "security words",
        task("Security audit", body="Check for XSS and SQL injection."),
        "builtin",
        "security-engineer",
        "'security audit' in the title",
    ),
    (
        "performance words",
        task("Load testing of the order API", body="Report p95 latency."),
        "builtin",
        "performance-engineer",
        "load testing",
    ),
    (
        "architecture",
        task(
            "Design system architecture",
            deliverables=(".work/foundation/architecture/ARCHITECTURE.md",),
        ),
        "builtin",
        "architect",
        "ARCHITECTURE.md",
    ),
    (
        "requirements",
        task("Write user stories", deliverables=(".work/foundation/product/user-stories.md",)),
        "builtin",
        "product-manager",
        "user-stories.md",
    ),
    (
        "integration",
        task(
            "Integration reconciliation", deliverables=(".work/integration/INTEGRATION-REPORT.md",)
        ),
        "builtin",
        "integration-engineer",
        "INTEGRATION-REPORT.md",
    ),
    # a rule needs its profile: python files with only the built-ins fall to the default
    (
        "rule without profile",
        task(files=("src/api/app.py",)),
        "builtin",
        "full-stack-engineer",
        "default",
    ),
    # reading ARCHITECTURE.md is not architecture work
    (
        "file name is not a word",
        task(
            "Implement feature A",
            body="MUST READ ARCHITECTURE.md first; implement per ARCHITECTURE.md.",
        ),
        "builtin",
        "full-stack-engineer",
        "default",
    ),
    ("ux inside a word", task("Support linux paths"), "builtin", "full-stack-engineer", "default"),
    # files outweigh a passing mention
    (
        "files beat a word",
        task(body="Keep an eye on performance.", files=("src/a.py", "src/b.py")),
        "specialists",
        "python-developer",
        "src/a.py",
    ),
    ("nothing matches", task("Tidy up"), "builtin", "full-stack-engineer", "default"),
    (
        "default missing",
        task("Tidy up"),
        "empty",
        "full-stack-engineer",
        "no profile 'full-stack-engineer' exists",
    ),
    (
        "agent named in another spelling",
        task(agent="CodeReviewer"),
        "builtin",
        "code-reviewer",
        "named by the task (as 'CodeReviewer')",
    ),
    # What a story asks for, not the words it uses: implementation with its tests is
    # implementation, and a story that mentions tests or documents is not for the SDET or
    # the architect unless it asks for that work.
    (
        "code and its tests",
        task("Login endpoint",
             files=("src/auth.py", "tests/test_auth.py", "tests/conftest.py")),
        "builtin",
        "full-stack-engineer",
        "default",
    ),
    (
        "implementation that mentions its tests",
        task("PDF Processing Foundation",
             body="Parse PDFs. Write unit tests with pytest for the test suite."),
        "builtin",
        "full-stack-engineer",
        "default",
    ),
    (
        "implementation that follows the architecture",
        task("Storage layer", body="Follow the architecture, the data model and the API contracts.",
             files=("src/storage.py",)),
        "builtin",
        "full-stack-engineer",
        "default",
    ),
    (
        "a story that asks for tests",
        task("Unit tests for the parser", body="Cover every branch."),
        "builtin",
        "sdet",
        "'unit tests' in the title",
    ),
    (
        "a story whose files are all documents",
        task("Describe the system", files=("docs/architecture.md",)),
        "builtin",
        "architect",
        "docs/architecture.md",
    ),
]

PROFILE_SETS = {
    "builtin": BUILTIN,
    "specialists": SPECIALISTS,
    "no-sdet": {k: v for k, v in BUILTIN.items() if k != "sdet"},
    "empty": {},
}


@pytest.mark.parametrize(
    ("the_task", "profiles", "agent", "reason"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_assignment(the_task: Task, profiles: str, agent: str, reason: str) -> None:
    result = assign_agent(the_task, PROFILE_SETS[profiles])
    assert result.agent == agent
    assert reason in result.reason, result.reason


def test_custom_default() -> None:
    result = assign_agent(task("Tidy up"), BUILTIN, default="sdet")
    assert result == Assignment("sdet", "default (no rule matched the task's files or text)")


def test_reason_is_shortened() -> None:
    files = tuple(f"src/m{i}.py" for i in range(6))
    result = assign_agent(task(files=files), SPECIALISTS)
    assert result.reason == "python: src/m0.py, src/m1.py, src/m2.py and 3 more"


def test_every_rule_names_an_agent_and_some_evidence() -> None:
    for rule in RULES:
        assert rule.agents, rule.name
        assert rule.patterns or rule.folders or rule.words, rule.name
