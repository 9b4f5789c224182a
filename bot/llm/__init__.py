"""A model-based grader over an OpenAI-compatible chat completions API: the core's
`ModelGrader` port (bot/core/practice/model_grading.py) over HTTP. Only bot.app imports it,
and only when `[grading] backend = "llm"`."""

from bot.llm.client import ChatCompletionsGrader

__all__ = ["ChatCompletionsGrader"]
