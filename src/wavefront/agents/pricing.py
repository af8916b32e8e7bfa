"""Prices per million tokens, for CLIs that report tokens but no cost (Codex, Gemini CLI).

A small table, not a catalogue: the models these CLIs run by default and their close
relatives. A cost computed from it is marked `cost_estimated=True` on the result. Unknown
models give None (no cost) rather than a guess.

Prices: USD per 1M tokens (input, output, cached input), list prices for the vendor APIs,
taken from the vendors' public pricing pages (anthropic.com/pricing,
openai.com/api/pricing, ai.google.dev/gemini-api/docs/pricing) as of `PRICES_AS_OF`.
Subscription plans (Claude Max, ChatGPT Plus) are not billed per token; the estimate then
says what the same work would cost on the API. Long-context tiers are ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["PRICES", "PRICES_AS_OF", "PRICES_SOURCE", "Price", "estimate_cost", "price_for"]

PRICES_AS_OF = "2025-09-01"
PRICES_SOURCE = (
    "vendor list prices: anthropic.com/pricing, openai.com/api/pricing, "
    "ai.google.dev/gemini-api/docs/pricing"
)


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float
    cached_input: float


# Keys are model-name prefixes; the longest matching prefix wins, so `gpt-5-mini` is not
# priced as `gpt-5`.
PRICES: dict[str, Price] = {
    # Anthropic
    "claude-opus-4": Price(15.0, 75.0, 1.50),
    "claude-sonnet-4": Price(3.0, 15.0, 0.30),
    "claude-3-7-sonnet": Price(3.0, 15.0, 0.30),
    "claude-3-5-sonnet": Price(3.0, 15.0, 0.30),
    "claude-haiku-4": Price(1.0, 5.0, 0.10),
    "claude-3-5-haiku": Price(0.80, 4.0, 0.08),
    # OpenAI (Codex CLI)
    "gpt-5": Price(1.25, 10.0, 0.125),
    "gpt-5-codex": Price(1.25, 10.0, 0.125),
    "gpt-5-mini": Price(0.25, 2.0, 0.025),
    "gpt-5-nano": Price(0.05, 0.40, 0.005),
    "gpt-4.1": Price(2.0, 8.0, 0.50),
    "gpt-4.1-mini": Price(0.40, 1.60, 0.10),
    "gpt-4o": Price(2.50, 10.0, 1.25),
    "gpt-4o-mini": Price(0.15, 0.60, 0.075),
    "o3": Price(2.0, 8.0, 0.50),
    "o4-mini": Price(1.10, 4.40, 0.275),
    "codex-mini": Price(1.50, 6.0, 0.375),
    # Google (Gemini CLI)
    "gemini-2.5-pro": Price(1.25, 10.0, 0.31),
    "gemini-2.5-flash": Price(0.30, 2.50, 0.075),
    "gemini-2.5-flash-lite": Price(0.10, 0.40, 0.025),
    "gemini-2.0-flash": Price(0.10, 0.40, 0.025),
}

_PROVIDER_PREFIX = re.compile(r"^(?:[a-z0-9_.-]+/)+", re.IGNORECASE)
_DATE_SUFFIX = re.compile(r"-(?:\d{8}|\d{4}-\d{2}-\d{2})$")


def price_for(model: str | None) -> Price | None:
    """The price of `model` (provider prefixes like `anthropic/` and date suffixes like
    `-20250514` ignored), or None when the table does not know it."""
    if not model:
        return None
    name = _DATE_SUFFIX.sub("", _PROVIDER_PREFIX.sub("", model.strip().lower()))
    best = ""
    for prefix in PRICES:
        if (name == prefix or name.startswith(prefix + "-") or name.startswith(prefix + ".")) and (
            len(prefix) > len(best)
        ):
            best = prefix
    return PRICES[best] if best else None


def estimate_cost(
    model: str | None, tokens_in: int, tokens_out: int, cached_in: int = 0
) -> float | None:
    """USD for one attempt. `tokens_in` includes `cached_in` (the cached part is billed at
    the cached rate). None when the model is unknown or nothing was counted."""
    price = price_for(model)
    if price is None or (tokens_in <= 0 and tokens_out <= 0):
        return None
    cached = min(max(cached_in, 0), max(tokens_in, 0))
    fresh = max(tokens_in, 0) - cached
    total = fresh * price.input + cached * price.cached_input + max(tokens_out, 0) * price.output
    return round(total / 1_000_000, 6)
