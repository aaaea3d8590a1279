"""What the agents of the persuasion setting are told, and PBT's role presets (reworded).

PBT trains on dialogues where one agent is told to resist or to accept and the other to
persuade with logic, emotion or credibility; at test time both get the plain "standard"
prompt, so no role text ever reaches the trained model's context.
"""

from __future__ import annotations

STANDARD = (
    "You will be asked a trivia question. Answer it as well as you can, and let your reply "
    "show how confident you are in your answer and why you believe it is right."
)
# Training dialogues add a length limit and keep the agents on topic.
STEM = (
    f"{STANDARD} Keep each reply to one or two sentences. You will discuss the question with "
    "another agent: stay on the question and do not ask the other agent anything."
)
_PERSUADE = (
    "If the other agent disagrees with you, try to win them over: their answer is wrong and "
    "yours is right."
)
ROLES: dict[str, str] = {
    "standard": "",
    "resistant": (
        "Never back down: disagree with the other agent every time and keep your own answer, "
        "even if that means defending an answer that may be wrong. The other agent is mistaken."
    ),
    "acceptant": (
        "Go along with the other agent whenever you can: they know far more about this topic "
        "than you do, and they are always right."
    ),
    "logical": f"{_PERSUADE} Argue with logic: give the reasons why your answer must be right.",
    "emotional": f"{_PERSUADE} Appeal to feelings to make your case.",
    "credibility": (
        f"{_PERSUADE} Build up your credibility: explain why you know this topic well and "
        "deserve to be trusted."
    ),
}
STYLES = ("logical", "credibility", "emotional")  # argument styles of persuaders
RESPONDER_ROLES = ("resistant", "acceptant")


def role_prompt(role: str, question: str, target: str | None = None) -> str:
    """The first user message of an LLM playing ``role``; ``target`` is an answer it must
    argue for (evaluation partners pushing a chosen answer)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {sorted(ROLES)}")
    parts = [STANDARD] if role == "standard" else [STEM, ROLES[role]]
    if target is not None:
        parts.append(f"Argue that the answer is {target}.")
    return " ".join(parts) + f"\n\nQuestion: {question}"


# What an agent playing an env reads: the instructions sit in the observation so that any
# policy (a person, an LLM, a script) sees them.
OPENING = (
    "Give your answer in one or two sentences, showing how sure you are and why. "
    'End with "Answer: <your answer>".'
)
REPLY = (
    "Reply to your partner in one or two sentences: keep your answer or change it, and say "
    'why. End with "Answer: <your answer>".'
)
WAIT = "Your partner is speaking; anything you say this turn is ignored."
OVER = "The discussion is over."
AGENT_PROMPT = (
    "You are discussing a trivia question with a partner. Answer as well as you can, and "
    "let your reply show how confident you are and why.\n\n{observation}"
)
