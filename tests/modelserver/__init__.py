"""The scripted model server of the test suite: real agent CLIs are pointed at it.

It listens on 127.0.0.1 only, is bounded in requests and lifetime, and speaks what the
CLIs send (Anthropic Messages, OpenAI Responses and Chat Completions, Gemini). See
`server.py` for the scenarios and `script.py` for what the model answers.
"""

from modelserver.script import Script
from modelserver.server import SCENARIOS, ModelServer, Request, running

__all__ = ["SCENARIOS", "ModelServer", "Request", "Script", "running"]
