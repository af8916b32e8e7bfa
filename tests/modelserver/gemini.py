"""Gemini `generateContent`, `streamGenerateContent?alt=sse` and `countTokens`: Gemini CLI."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any

from modelserver.script import Conversation, Reply, Tool
from modelserver.wire import send_event, send_json, start_events

INPUT_TOKENS = 1200
OUTPUT_TOKENS = 40


def conversation(body: dict[str, Any]) -> Conversation:
    tools = []
    for group in body.get("tools") or []:
        for declaration in (group or {}).get("functionDeclarations") or []:
            parameters = (declaration.get("parametersJsonSchema")
                          or declaration.get("parameters") or {})
            tools.append(Tool(str(declaration.get("name")), "function",
                              parameters.get("properties") or {}))
    contents = body.get("contents") or []
    results = sum(1 for content in contents for part in (content or {}).get("parts") or []
                  if isinstance(part, dict) and "functionResponse" in part)
    text = json.dumps(body.get("systemInstruction") or "") + "\n" + json.dumps(contents)
    config = body.get("generationConfig") or {}
    schema = config.get("responseJsonSchema") or config.get("responseSchema")
    return Conversation(tuple(tools), results, text, schema)


def respond(handler: BaseHTTPRequestHandler, path: str, reply: Reply, model: str) -> None:
    if ":countTokens" in path:
        send_json(handler, 200, {"totalTokens": INPUT_TOKENS})
        return
    part: dict[str, Any]
    if reply.is_tool_call:
        part = {"functionCall": {"name": reply.tool, "args": dict(reply.args)}}
    else:
        part = {"text": reply.text}
    answer = {"candidates": [{"content": {"role": "model", "parts": [part]},
                              "finishReason": "STOP", "index": 0}],
              "usageMetadata": {"promptTokenCount": INPUT_TOKENS,
                                "candidatesTokenCount": OUTPUT_TOKENS,
                                "totalTokenCount": INPUT_TOKENS + OUTPUT_TOKENS},
              "modelVersion": model}
    if ":streamGenerateContent" in path:
        start_events(handler)
        send_event(handler, answer)
    else:
        send_json(handler, 200, answer)
