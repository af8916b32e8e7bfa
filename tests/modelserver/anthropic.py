"""Anthropic Messages (`POST /v1/messages`), streamed or plain: Claude Code."""

from __future__ import annotations

import json
import secrets
from http.server import BaseHTTPRequestHandler
from typing import Any

from modelserver.script import Conversation, Reply, Tool
from modelserver.wire import send_event, send_json, start_events

INPUT_TOKENS = 1200
OUTPUT_TOKENS = 40


def conversation(body: dict[str, Any]) -> Conversation:
    tools = tuple(Tool(str(t.get("name")), "function",
                       (t.get("input_schema") or {}).get("properties") or {})
                  for t in body.get("tools") or [] if isinstance(t, dict))
    texts: list[str] = [_text(body.get("system"))]
    results = 0
    for message in body.get("messages") or []:
        content = message.get("content")
        texts.append(_text(content))
        if isinstance(content, list):
            results += sum(1 for block in content
                           if isinstance(block, dict) and block.get("type") == "tool_result")
    output = body.get("output_config") or {}
    schema = (output.get("format") or {}).get("schema") if isinstance(output, dict) else None
    return Conversation(tools, results, "\n".join(texts), schema)


def respond(handler: BaseHTTPRequestHandler, body: dict[str, Any], reply: Reply) -> None:
    model = str(body.get("model") or "scripted")
    message_id = "msg_" + secrets.token_hex(8)
    block: dict[str, Any]
    if reply.is_tool_call:
        block = {"type": "tool_use", "id": "toolu_" + secrets.token_hex(8), "name": reply.tool,
                 "input": dict(reply.args)}
        stop = "tool_use"
    else:
        block = {"type": "text", "text": reply.text}
        stop = "end_turn"
    usage = {"input_tokens": INPUT_TOKENS, "output_tokens": OUTPUT_TOKENS,
             "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0}
    if not body.get("stream"):
        send_json(handler, 200, {"id": message_id, "type": "message", "role": "assistant",
                                 "model": model, "content": [block], "stop_reason": stop,
                                 "stop_sequence": None, "usage": usage})
        return
    start_events(handler)
    send_event(handler, {"type": "message_start", "message": {
        "id": message_id, "type": "message", "role": "assistant", "model": model,
        "content": [], "stop_reason": None, "stop_sequence": None,
        "usage": {**usage, "output_tokens": 1}}}, "message_start")
    if block["type"] == "tool_use":
        start = {**block, "input": {}}
        delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
    else:
        start = {"type": "text", "text": ""}
        delta = {"type": "text_delta", "text": block["text"]}
    send_event(handler, {"type": "content_block_start", "index": 0, "content_block": start},
               "content_block_start")
    send_event(handler, {"type": "ping"}, "ping")
    send_event(handler, {"type": "content_block_delta", "index": 0, "delta": delta},
               "content_block_delta")
    send_event(handler, {"type": "content_block_stop", "index": 0}, "content_block_stop")
    send_event(handler, {"type": "message_delta",
                         "delta": {"stop_reason": stop, "stop_sequence": None},
                         "usage": {"output_tokens": OUTPUT_TOKENS}}, "message_delta")
    send_event(handler, {"type": "message_stop"}, "message_stop")


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(_text(item.get("text") or item.get("content"))
                         for item in value if isinstance(item, dict))
    return ""
