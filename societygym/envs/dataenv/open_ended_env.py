"""DataEnv-<Domain>-v0: teach a student from its validation errors alone (open-ended)."""

from __future__ import annotations

from typing import Any

from societygym.envs.dataenv.teaching_env import TeachingEnv

DATA_FORMAT = (
    'Reply with a JSON list of training examples: [{"instruction": "<question>", '
    '"response": "<answer>"}, ...].'
)


def budget_line(obs: dict[str, Any]) -> str:
    done, left, examples = obs["budget"]
    return (
        f"Teaching iteration {done} done, {left} left; {examples} training examples left in "
        f"the budget. Student validation accuracy: {100 * obs['accuracy'][0]:.1f}%."
    )


def image_note(error: dict[str, str]) -> str:
    return f" [image: {error['image']}]" if "image" in error else ""


def error_lines(errors: list[dict[str, str]]) -> list[str]:
    return [
        f"- Q: {e['question']}{image_note(e)}\n  student: {e['student_answer'] or '(empty)'} | "
        f"correct: {e['gold_answer']}"
        for e in errors
    ]


class OpenEndedEnv(TeachingEnv):
    """Write training data for a student model, seeing only the questions it gets wrong.

    Each step trains a real student (a Hugging Face causal LM, LoRA or full fine-tune) on the
    accepted examples, then re-evaluates it on a frozen validation split (DataEnvGym's
    open-ended environment, as a Gymnasium env). The validation split is halved: the
    observation comes from the *feedback* half, the reward from the *reward* half, which the
    teacher never sees (so copying shown errors cannot buy reward; README "Teaching").

    ## Observation (``Dict``)
    ``text``: everything below rendered for an LLM teacher. ``errors``: JSON list of up to
    ``max_errors_shown`` errors on the feedback half ``{question, student_answer,
    gold_answer}``, a random (seeded) sample when there are more. ``accuracy``: accuracy on
    the feedback half (``Box`` shape (1,)). ``budget``: ``[iterations done, iterations
    left, examples left]``. A domain may add fields: VQA adds ``error_images`` (``Box``
    uint8 ``(min(max_errors_shown, 8), 64, 64, 3)``, the images of the first errors in
    ``errors`` order, zero-padded), and its errors and examples carry an ``image``.

    ## Action
    A list of ``{"instruction", "response"}`` mappings, or the same as JSON text (also inside
    other text, or as ``{"examples": [...]}``). A ``skill`` key is allowed and ignored.
    Non-text, non-list actions raise ``TypeError``. Examples are rejected, each with its
    reason in ``info["rejected"]``, when malformed, empty, over-long, failing the domain's
    rules, copying a held-out (feedback, reward or test) question exactly or nearly (a
    trivial rewrite, see ``near_duplicates``; the reason names the item), or beyond the
    example budget. Unreadable
    text rejects the whole action (``info["error"]``): the iteration is spent, nothing trained.

    ## Reward
    Accuracy on the reward half after the step minus before it, minus ``data_cost`` per
    accepted example. Rewards over an episode sum to the total gain (less data costs).

    ## Episode end
    Never terminates; truncates after ``max_iterations`` steps or when ``max_examples``
    examples have been accepted. The test split is evaluated then, once, and reported in
    ``info["test"]`` (accuracy, per-skill accuracy); it never reaches the observation.

    ## Info
    ``iteration``, ``accepted``, ``rejected`` (``[{index, reason, example}]``),
    ``validation`` (the reward half: accuracy, per_skill, count, and ``metrics``: the
    domain's own, e.g. plan F1 for tool use, see ``Domain.report``), ``feedback`` (the same
    for the shown half), ``train`` (examples, optimizer steps, tokens,
    seconds, tokens/s, first/last loss; None when nothing was trained), ``error``, and at the
    end ``test`` (as ``validation``) and ``history`` (validation accuracy per iteration).

    ## Arguments
    ``domain`` (``"math"``, a name in ``DOMAINS`` or a Domain object), ``domain_kwargs``
    (passed to the named domain's constructor, e.g. ``{"max_new_tokens": 16}``), ``student``
    (``"embedded"`` SmolLM2-135M-Instruct, ``"tiny"``, ``"hf:<dir>"`` or a student object),
    ``finetune`` (``"lora"``/``"full"``), ``training`` (``"continue"``: keep training the
    current student on the new data; ``"retrain"``: start from the base model and train on
    all data so far, as the original did), ``train_config`` (``TrainConfig`` fields),
    ``student_kwargs`` (to ``HFStudent``, e.g. ``{"eval_backend": "vllm"}`` on a GPU), budgets
    (``max_iterations``, default 3; ``max_examples``, default 300), ``skills`` (teach and
    evaluate only these of the domain's skills; examples of other skills still train),
    ``difficulty`` (1-4, ``difficulty_levels``: the first skill, the first half, every skill
    with the default budget, every skill with 2 iterations x 100 examples; it sets skills and
    budget, so it goes without them),
    ``val_per_skill``/``feedback_per_skill``/``test_per_skill`` (items per skill of the
    reward half, the feedback half (default: as many as ``val_per_skill``) and the test
    split), ``run_dir``
    (checkpoint every iteration; ``reset(options={"resume": True})`` continues a killed
    episode from its last completed iteration), ``skill_discovery`` (an LLM spec: relabel the
    evaluation items with LLM-discovered skills instead of the gold ones; see
    ``societygym.envs.dataenv.skills``).

    ## Version history
    v0: first release; the reward half and the near-duplicate check came later in v0
    (leaderboard bundles scored before then are stale).
    """

    kind = "open-ended"
    agent_prompt = "You are teaching a small student model.\n{observation}"

    def _render_text(self, obs: dict[str, Any]) -> str:
        errors = obs["errors"]
        lines = [budget_line(obs), ""]
        if errors:
            lines.append(f"Validation questions the student got wrong ({len(errors)} shown):")
            lines += error_lines(errors)
        else:
            lines.append("The student answered every validation question correctly.")
        lines += ["", DATA_FORMAT, *self.domain.example_hint]
        return "\n".join(lines)
