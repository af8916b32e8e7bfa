"""Agents: who does the work (profiles, built-in roles, assignment) and how it is run
(the runner adapters under `wavefront.agents.runners`)."""

from wavefront.agents.assign import Assignment, assign_agent
from wavefront.agents.profiles import builtin_profiles, load_profile_file, load_profiles

__all__ = [
    "Assignment",
    "assign_agent",
    "builtin_profiles",
    "load_profile_file",
    "load_profiles",
]
