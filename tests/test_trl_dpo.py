"""The LACIE and PBT pipelines' preference files load straight into TRL's DPOTrainer.

Each file is written by its pipeline's own exporter (LACIE's ``pairs`` command, PBT's
``dpo_rows``), read with ``load_preferences``, and trained on for two steps with the tiny
random model and LoRA.
"""

from __future__ import annotations

import json
import math
import time

import pytest

from societygym.baselines import lacie
from societygym.baselines import persuasion_trees as pt
from societygym.envs.trivia.data import load_embedded
from societygym.integrations.trl import load_preferences


def train_two_steps(dataset, out):
    """Two DPO steps of a LoRA adapter on the tiny model; the per-step log entries."""
    import torch
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig, DPOTrainer

    from societygym.llm import tiny_llm_dir

    config = DPOConfig(
        output_dir=str(out), max_steps=2, per_device_train_batch_size=2, max_length=160,
        bf16=False, use_cpu=True, logging_steps=1, save_strategy="no", report_to="none",
        learning_rate=5e-3, gradient_checkpointing=False,
    )  # fmt: skip
    model = AutoModelForCausalLM.from_pretrained(tiny_llm_dir(), dtype=torch.float32)
    trainer = DPOTrainer(
        model=model,
        args=config,
        train_dataset=dataset,
        processing_class=AutoTokenizer.from_pretrained(tiny_llm_dir()),
        peft_config=LoraConfig(r=8, lora_alpha=16, task_type="CAUSAL_LM"),
    )
    start = time.perf_counter()
    trainer.train()
    print(f"tiny DPO, 2 steps: {time.perf_counter() - start:.1f}s")
    # LoRA's B matrices start at zero: any non-zero one was trained.
    lora_b = [p for name, p in trainer.model.named_parameters() if "lora_B" in name]
    assert lora_b and any(p.detach().abs().sum() > 0 for p in lora_b)
    return [entry for entry in trainer.state.log_history if "loss" in entry]


def lacie_records(items):
    """Judged-ready speaker records: confident and hedged, right and wrong, per question."""
    styles = (
        "I'm absolutely certain it is {}; I studied this.",
        "I think it might be {}, but I'm not sure.",
    )
    return [
        {"question_id": item.id, "question": item.question, "answers": list(item.answers),
         "utterance": style.format(answer), "sample": k}
        for item in items
        for k, (style, answer) in enumerate(
            (s, a) for s in styles for a in (item.answers[0], item.distractors[0])
        )
    ]  # fmt: skip


def test_dpo_trains_on_the_lacie_pairs_file(tmp_path, capsys):
    from societygym.envs.trivia.listeners import LexicalListener

    records = lacie.judge(lacie_records(load_embedded("train")[:8]), LexicalListener())
    records_path = lacie.write_jsonl(records, tmp_path / "records.jsonl")
    pairs_path = tmp_path / "pairs.jsonl"
    lacie.main(["pairs", str(records_path), "--out", str(pairs_path)])
    dataset = load_preferences(pairs_path)
    assert dataset.column_names == ["prompt", "chosen", "rejected"]
    assert dataset.num_rows >= 4 and all(isinstance(p, str) for p in dataset["prompt"])
    log = train_two_steps(dataset, tmp_path / "run")
    assert [entry["step"] for entry in log] == [1, 2]
    assert all(math.isfinite(entry["loss"]) for entry in log)


def test_dpo_trains_on_the_pbt_dpo_file(tmp_path):
    # The scripted role-players agree too fast to leave sibling pairs, so the tree is the
    # hand-built one of the PBT tests; the file is written as the `pairs` command does.
    from tests.test_persuasion_trees import hand_built_tree

    pairs = pt.balance_pairs(pt.extract_pairs([hand_built_tree()]))
    path = pt.write_jsonl(pt.dpo_rows(pairs), tmp_path / "train.dpo.jsonl")
    assert "label" in json.loads(path.read_text().splitlines()[0])  # metadata rides along
    dataset = load_preferences(path)
    assert dataset.num_rows == 2 and dataset.column_names == ["prompt", "chosen", "rejected"]
    assert dataset[0]["chosen"][0]["role"] == "assistant"  # conversational
    log = train_two_steps(dataset, tmp_path / "run")
    assert [entry["step"] for entry in log] == [1, 2]
    assert all(math.isfinite(entry["loss"]) for entry in log)


def test_load_preferences_refuses_other_files(tmp_path):
    path = tmp_path / "sft.jsonl"
    path.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n")
    with pytest.raises(ValueError, match="not a DPO file"):
        load_preferences(path)
