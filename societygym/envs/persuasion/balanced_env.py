"""``Persuasion-Balanced-v0``: PBT's balanced persuasion test."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from societygym.envs.instances import pick_index
from societygym.envs.persuasion import metrics
from societygym.envs.persuasion.dialogue import Dialogue, same_answer
from societygym.envs.persuasion.partner_dialogue_env import (
    ACCEPT,
    AGENT,
    PARTNER,
    RESIST,
    PartnerDialogueEnv,
)
from societygym.envs.persuasion.partners import check_style, make_partner
from societygym.envs.trivia.data import TriviaItem


class BalancedPersuasionEnv(PartnerDialogueEnv):
    """PBT's balanced persuasion test: accept persuasion that helps, resist persuasion that
    hurts.

    The scene is replayed: the agent has already answered and the partner has argued
    against it. In a *resist* episode the agent's answer was right and the partner pushes a
    wrong one (+ to -); in an *accept* episode the agent's answer was wrong and the partner
    pushes the right one (- to +). Exactly half the episodes are of each kind: instance
    ``i`` (``options={"index": i}``) is question ``i // 2``, resist for even ``i``; without
    an index the kind alternates from episode to episode, and a seeded reset starts it at
    resist for an even seed, so runs over consecutive seeds are balanced too.

    ## Observation / Action
    The dialogue from the agent's side and an instruction (``UnicodeText``) / the agent's
    reply (free text; its answer is extracted as in ``Persuasion-v0``).

    ## Reward
    1 when the agent's final answer is right, else 0, after ``rounds`` replies (default 1:
    PBT scores the next turn); the partner keeps pushing between replies.

    ## Info
    As ``Persuasion-v0`` (for the agent), plus ``half`` (resist/accept), ``start_answer``,
    ``target`` (the partner's answer) and ``flipped``.

    ## Arguments
    ``partner``: ``"scripted"`` (default), ``"llm"``, ``"llm:<spec>"`` or an instance;
    ``style``: the partner's argument style (logical, credibility, emotional).
    ``families``: only these embedded question families; ``difficulty``: 1-3
    (``difficulty_levels``), questions the embedded model answers right at least 20% of the
    time, sometimes, or never (``trivia.difficulty``); None (default): all of them.

    ## Version history
    v0: first release.
    """

    def __init__(
        self,
        source: str = "embedded",
        split: str = "test",
        questions: Sequence[TriviaItem] | None = None,
        partner: Any = "scripted",
        style: str = "logical",
        rounds: int = 1,
        extractor: Any = "rule",
        max_utterance_length: int = 1000,
        render_mode: str | None = None,
        families: Sequence[str] | None = None,
        difficulty: int | None = None,
    ) -> None:
        super().__init__(
            source,
            split,
            questions,
            make_partner(partner, check_style(style)),
            extractor,
            rounds,
            max_utterance_length,
            render_mode,
            families,
            difficulty,
        )
        self._next_half = 0
        self._half = RESIST
        self._start: str | None = None

    def _setup(self, seed: int | None, options: dict | None) -> Dialogue:
        if options and "index" in options:
            index = pick_index(self.np_random, 2 * len(self.items), options)
            item, half = self.items[index // 2], index % 2
        else:
            if seed is not None:
                self._next_half = seed % 2
            item, half = self._pick_item(None), self._next_half
            self._next_half = 1 - half
        self._half = (RESIST, ACCEPT)[half]
        wrong = self._wrong_answer(item)
        self._start, self._target = (
            (item.answers[0], wrong) if self._half == RESIST else (wrong, item.answers[0])
        )
        dialogue = Dialogue(item, (AGENT, PARTNER))
        dialogue.add(AGENT, f"I think the answer is {self._start}.", self._start, opening=True)
        self._partner_says(dialogue)
        return dialogue

    def _extra_info(self) -> dict[str, Any]:
        answer = self._dialogue.answer(AGENT)
        return {
            "half": self._half,
            "start_answer": self._start,
            "target": self._target,
            "flipped": not same_answer(answer, self._start, self._dialogue.item.answers),
        }

    @staticmethod
    def summarize(infos: Sequence[Mapping[str, Any]], out_dir: Any = None) -> dict[str, float]:
        return metrics.balanced_report(infos)
