"""OpenAI Responses (`POST /v1/responses`, streamed: Codex) and Chat Completions
(`POST /v1/chat/completions`, streamed or plain: OpenCode, aider, Qwen Code)."""

from __future__ import annotations

import json
import secrets
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

from modelserver.script import Conversation, Reply, Script, Tool
from modelserver.wire import send_event, send_json, start_events

INPUT_TOKENS = 1200
OUTPUT_TOKENS = 40


# --- Responses ---------------------------------------------------------------------------

def responses_conversation(body: dict[str, Any]) -> Conversation:
    tools = []
    for tool in body.get("tools") or []:
        if not isinstance(tool, dict) or "name" not in tool:
            continue
        kind = "custom" if tool.get("type") == "custom" else "function"
        tools.append(Tool(str(tool["name"]), kind,
                          (tool.get("parameters") or {}).get("properties") or {}))
    items = body.get("input") or []
    results = sum(1 for item in items if isinstance(item, dict) and item.get("type") in
                  ("function_call_output", "custom_tool_call_output"))
    text = [str(body.get("instructions") or ""), json.dumps(items)]
    return Conversation(tuple(tools), results, "\n".join(text))


def respond_responses(handler: BaseHTTPRequestHandler, body: dict[str, Any],
                      reply: Reply) -> None:
    response_id = "resp_" + secrets.token_hex(8)
    item: dict[str, Any]
    if reply.is_tool_call and reply.kind == "custom":
        item = {"type": "custom_tool_call", "id": "ctc_" + secrets.token_hex(6),
                "call_id": "call_" + secrets.token_hex(6), "name": reply.tool,
                "input": reply.raw or "", "status": "completed"}
    elif reply.is_tool_call:
        item = {"type": "function_call", "id": "fc_" + secrets.token_hex(6),
                "call_id": "call_" + secrets.token_hex(6), "name": reply.tool,
                "arguments": json.dumps(dict(reply.args)), "status": "completed"}
    else:
        item = {"type": "message", "id": "msg_" + secrets.token_hex(6), "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": reply.text, "annotations": []}]}
    usage = {"input_tokens": INPUT_TOKENS, "input_tokens_details": {"cached_tokens": 0},
             "output_tokens": OUTPUT_TOKENS, "output_tokens_details": {"reasoning_tokens": 0},
             "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS}
    base = {"id": response_id, "object": "response", "created_at": int(time.time()),
            "model": body.get("model") or "scripted"}
    start_events(handler)
    send_event(handler, {"type": "response.created",
                         "response": {**base, "status": "in_progress", "output": []}},
               "response.created")
    added = {**item, "status": "in_progress"}
    if item["type"] == "message":
        added["content"] = []
    send_event(handler, {"type": "response.output_item.added", "output_index": 0,
                         "item": added}, "response.output_item.added")
    if item["type"] == "message":
        send_event(handler, {"type": "response.output_text.delta", "item_id": item["id"],
                             "output_index": 0, "content_index": 0, "delta": reply.text},
                   "response.output_text.delta")
    send_event(handler, {"type": "response.output_item.done", "output_index": 0,
                         "item": item}, "response.output_item.done")
    send_event(handler, {"type": "response.completed", "response": {
        **base, "status": "completed", "output": [item], "usage": usage}},
        "response.completed")


# --- Chat Completions --------------------------------------------------------------------

def chat_conversation(body: dict[str, Any]) -> Conversation:
    tools = tuple(Tool(str((t.get("function") or {}).get("name")), "function",
                       ((t.get("function") or {}).get("parameters") or {}).get("properties")
                       or {})
                  for t in body.get("tools") or [] if isinstance(t, dict))
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    results = sum(1 for m in messages if m.get("role") == "tool")
    text = "\n".join(_content_text(m.get("content")) for m in messages)
    response_format = body.get("response_format") or {}
    schema = ((response_format.get("json_schema") or {}).get("schema")
              if isinstance(response_format, dict) else None)
    return Conversation(tools, results, text, schema)


def is_aider(conversation: Conversation) -> bool:
    """aider offers no tools and asks for whole files in a *file listing* (or for
    SEARCH/REPLACE blocks)."""
    return not conversation.tools and ("file listing" in conversation.text
                                       or "SEARCH/REPLACE" in conversation.text)


def respond_chat(handler: BaseHTTPRequestHandler, body: dict[str, Any], reply: Reply,
                 script: Script, conversation: Conversation, scenario: str = "ok") -> None:
    if is_aider(conversation):
        reply = Reply(text=script.aider_reply(conversation, scenario))
    chat_id = "chatcmpl-" + secrets.token_hex(8)
    model = body.get("model") or "scripted"
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    finish = "stop"
    if reply.is_tool_call:
        message["tool_calls"] = [{"index": 0, "id": "call_" + secrets.token_hex(6),
                                  "type": "function",
                                  "function": {"name": reply.tool,
                                               "arguments": json.dumps(dict(reply.args))}}]
        finish = "tool_calls"
    usage = {"prompt_tokens": INPUT_TOKENS, "completion_tokens": OUTPUT_TOKENS,
             "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS}
    head = {"id": chat_id, "created": int(time.time()), "model": model}
    if not body.get("stream"):
        plain = {k: v for k, v in message.items() if k != "tool_calls"}
        if "tool_calls" in message:
            plain["tool_calls"] = [{k: v for k, v in call.items() if k != "index"}
                                   for call in message["tool_calls"]]
        send_json(handler, 200, {**head, "object": "chat.completion", "choices": [
            {"index": 0, "message": plain, "finish_reason": finish}], "usage": usage})
        return
    start_events(handler)
    chunk = {**head, "object": "chat.completion.chunk"}
    send_event(handler, {**chunk, "choices": [{"index": 0, "delta": message,
                                               "finish_reason": None}]})
    send_event(handler, {**chunk, "choices": [{"index": 0, "delta": {},
                                               "finish_reason": finish}]})
    send_event(handler, {**chunk, "choices": [], "usage": usage})
    send_event(handler, "[DONE]")


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(part.get("text") or "") for part in content
                         if isinstance(part, dict))
    return ""
