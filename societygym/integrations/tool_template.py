"""Chat templates that let ChatML models without tool support play envs in TRL.

TRL's ``GRPOTrainer(environment_factory=...)`` plays an env through the model's tool calls:
it refuses a tokenizer whose chat template cannot render tool calls and tool replies
(``trl.chat_template_utils.supports_tool_calling``), parses each reply with the tokenizer's
``response_template``, and splices the tool's answer into the token sequence, which needs a
prefix-preserving template. The embedded SmolLM2-135M-Instruct and the tiny test model both
speak ChatML (``<|im_start|>`` / ``<|im_end|>``), but their templates render only ``role`` and
``content``. ``with_tool_template`` gives them one of two protocols:

- ``"tool_calls"``: Hermes/Qwen tool calling. The tools' JSON schemas go in the system turn,
  a call is ``<tool_call>{"name": ..., "arguments": ...}</tool_call>``, its result a
  ``<tool_response>`` in a user turn; TRL's Qwen3 ``response_template`` parses the replies.
  Ours rather than TRL's copy of Qwen2.5's, which tells the model it is Qwen whenever the
  prompt has no system turn. For models trained to call tools.
- ``"replies"``: every non-empty reply *is* the action: the parser turns it into a call of
  the env's ``act`` tool, and the env's answer comes back as the next user turn. This is the
  protocol of ``LLMAgent`` (``societygym run --agent llm``), and the one small models can
  follow: sampled at temperature 1, SmolLM2-135M wrote no parseable tool call in 16 tries
  on TextCraft-v0. An empty reply ends the episode's turns.
"""

from __future__ import annotations

from typing import Any, Literal

Actions = Literal["tool_calls", "replies"]
ACT = "act"  # the tool a reply stands for: ``TRLEnvironment.act``

# ChatML with no default system turn (SmolLM2's own template adds one). ``replies``, set by
# ``chat_template``, switches from Hermes tool calls to plain replies.
_BODY = (
    "{%- if tools and not replies %}"
    "{{- '<|im_start|>system\\n' }}"
    "{%- if messages[0].role == 'system' %}{{- messages[0].content + '\\n\\n' }}{%- endif %}"
    "{{- '# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\n"
    "You are provided with function signatures within <tools></tools> XML tags:\\n<tools>' }}"
    "{%- for tool in tools %}{{- '\\n' }}{{- tool | tojson }}{%- endfor %}"
    "{{- '\\n</tools>\\n\\nFor each function call, return a json object with function name and "
    "arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n"
    '{"name": <function-name>, "arguments": <args-json-object>}\\n'
    "</tool_call><|im_end|>\\n' }}"
    "{%- elif messages[0].role == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if message.role == 'system' and loop.first %}"
    "{%- elif message.role == 'assistant' %}"
    "{{- '<|im_start|>assistant' }}"
    "{%- if message.content or not message.tool_calls %}{{- '\\n' + (message.content or '') }}"
    "{%- endif %}"
    "{%- for call in message.tool_calls or [] %}"
    "{%- set call = call.function if call.function is defined else call %}"
    "{%- if replies and call.name == '" + ACT + "' %}"
    "{{- '\\n' + (call.arguments.action | default('')) }}"
    "{%- else %}"
    '{{- \'\\n<tool_call>\\n{"name": "\' + call.name + \'", "arguments": \' }}'
    "{{- (call.arguments if call.arguments is string else call.arguments | tojson) }}"
    "{{- '}\\n</tool_call>' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{{- '<|im_end|>\\n' }}"
    "{%- elif message.role == 'tool' and replies %}"
    "{{- '<|im_start|>user\\n' + message.content + '<|im_end|>\\n' }}"
    "{%- elif message.role == 'tool' %}"
    "{%- if loop.first or messages[loop.index0 - 1].role != 'tool' %}"
    "{{- '<|im_start|>user' }}{%- endif %}"
    "{{- '\\n<tool_response>\\n' + message.content + '\\n</tool_response>' }}"
    "{%- if loop.last or messages[loop.index0 + 1].role != 'tool' %}"
    "{{- '<|im_end|>\\n' }}{%- endif %}"
    "{%- else %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def chat_template(actions: Actions) -> str:
    """The ChatML template for ``actions`` (see the module docstring)."""
    replies = "true" if actions == "replies" else "false"
    return "{%- set replies = " + replies + " %}" + _BODY


# A reply, up to its end of turn, is the ``action`` of one ``act`` call.
REPLY_RESPONSE_TEMPLATE = {
    "defaults": {"role": "assistant"},
    "start_anchor": "<|im_start|>assistant\n",
    "fields": {
        "tool_calls": {
            "close_pattern": r"<\|im_end\|>\s*",
            "content": "text",
            "repeats": True,
            "transform": {
                "type": "function",
                "function": {"name": ACT, "arguments": {"action": "{content}"}},
            },
        }
    },
}


def with_tool_template(tokenizer: Any, actions: Actions | Literal["auto"] = "auto") -> Actions:
    """Set up ``tokenizer`` to play envs in TRL's tool loop; returns the protocol it plays.

    A template that already does tool calls is kept for ``"tool_calls"`` (TRL parses
    Qwen3's, Llama 3.1's, ...); otherwise our ChatML template for ``actions`` is installed,
    and a tokenizer that is not ChatML raises ValueError. ``"auto"`` is ``"tool_calls"``
    where the model's own template does tool calls, else ``"replies"``.
    """
    from trl.chat_template_utils import qwen3_template, supports_tool_calling

    native = supports_tool_calling(tokenizer)
    if actions == "auto":
        actions = "tool_calls" if native else "replies"
    if actions == "tool_calls" and native:
        return actions
    if tokenizer.eos_token != "<|im_end|>" or "<|im_start|>" not in tokenizer.get_vocab():
        raise ValueError(
            f"{getattr(tokenizer, 'name_or_path', 'the tokenizer')} is not ChatML (<|im_start|>, "
            "<|im_end|> as EOS): give it a chat template that renders tool calls"
        )
    tokenizer.chat_template = chat_template(actions)
    tokenizer.response_template = (
        REPLY_RESPONSE_TEMPLATE if actions == "replies" else qwen3_template
    )
    return actions
