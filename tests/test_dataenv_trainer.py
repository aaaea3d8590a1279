"""The student trainer: loss masking, batching, that training lowers loss, weight handling."""

from __future__ import annotations

import numpy as np
import pytest

from societygym.envs.dataenv.trainer import IGNORE, TrainConfig, batch_order, tokenize_pairs

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run far faster on one thread, most of all on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def student_factory():
    from societygym.envs.dataenv.students import HFStudent

    return HFStudent


PAIRS = [
    (f"Say the word number {i}.", ["apple", "river", "stone", "cloud"][i % 4]) for i in range(8)
]


def test_batch_order_covers_every_example_once() -> None:
    lengths = [5, 50, 7, 48, 6, 49, 8, 47]
    rng = np.random.default_rng(0)
    batches = batch_order(lengths, 2, rng, group_by_length=True)
    assert sorted(i for b in batches for i in b) == list(range(8))
    # grouped batches pair similar lengths
    assert all(abs(lengths[a] - lengths[b]) <= 3 for a, b in batches)
    assert batch_order(lengths, 3, np.random.default_rng(1), True) == batch_order(
        lengths, 3, np.random.default_rng(1), True
    )


def test_loss_is_on_the_response_only(student_factory) -> None:
    student = student_factory("tiny", finetune="full")
    prompt = student.prompt_text("Say hi.")
    (row,), cut = tokenize_pairs(student.tokenizer, [(prompt, "hi")], max_length=512)
    prompt_len = len(student.tokenizer(prompt, add_special_tokens=False).input_ids)
    assert cut == 0
    assert row.labels[:prompt_len] == [IGNORE] * prompt_len
    assert row.labels[prompt_len:] == row.input_ids[prompt_len:]
    assert row.labels[-1] == student.tokenizer.eos_token_id
    (short,), cut = tokenize_pairs(student.tokenizer, [(prompt, "hi")], max_length=4)
    assert cut == 1 and len(short.input_ids) == 4


@pytest.mark.parametrize("finetune", ["full", "lora"])
def test_training_lowers_loss_and_teaches_the_answers(student_factory, finetune: str) -> None:
    lr = 3e-3 if finetune == "full" else 1e-2
    config = TrainConfig(epochs=30, batch_size=4, learning_rate=lr)
    student = student_factory("tiny", finetune=finetune, train_config=config)
    stats = student.train(PAIRS, seed=0)
    assert stats.optimizer_steps == 60 and stats.examples == 8
    assert stats.losses[-1] < 0.25 * stats.losses[0]
    replies = student.answer([p for p, _ in PAIRS], max_new_tokens=4)
    assert sum(r.strip() == a for r, (_, a) in zip(replies, PAIRS, strict=True)) >= 6


def test_training_is_seeded_and_reset_restores_the_base(student_factory, tmp_path) -> None:
    config = TrainConfig(epochs=2, batch_size=4)
    a = student_factory("tiny", train_config=config)
    b = student_factory("tiny", train_config=config)
    base = a.trainable_state()
    assert a.train(PAIRS, seed=3).losses == b.train(PAIRS, seed=3).losses
    trained = a.trainable_state()
    assert any(not torch.equal(base[k], trained[k]) for k in base)
    a.save(tmp_path)
    a.reset()
    assert all(torch.equal(base[k], v) for k, v in a.trainable_state().items())
    a.load(tmp_path)
    assert all(torch.equal(trained[k], v) for k, v in a.trainable_state().items())


def test_bad_settings_are_refused(student_factory) -> None:
    with pytest.raises(ValueError, match="finetune"):
        student_factory("tiny", finetune="qlora")
    with pytest.raises(ValueError, match="epochs"):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError, match="unknown student"):
        student_factory("no-such-model")


def test_the_training_bar_moves_per_optimizer_step_and_changes_nothing(
    student_factory, monkeypatch
) -> None:
    from societygym import progress

    monkeypatch.delenv(progress.QUIET_ENV, raising=False)
    bars = []
    real_bar = progress.bar

    def spy(total, desc, *args, **kwargs):
        bar = real_bar(total, desc, *args, **kwargs)
        bar.shown = not bar.disable  # closing a bar disables it
        bars.append(bar)
        return bar

    monkeypatch.setattr(progress, "bar", spy)
    student = student_factory("tiny", train_config=TrainConfig(epochs=2, batch_size=4))
    hidden = student.train(PAIRS, seed=3).losses  # outside show_stages: no bar shows
    student.reset()
    with progress.show_stages():
        shown = student.train(PAIRS, seed=3).losses
    assert shown == hidden  # the bar draws no randomness
    # 8 pairs in batches of 4 for 2 epochs: 4 optimizer steps, each one moved the bar
    assert [(b.shown, b.total) for b in bars] == [(False, 4), (True, 4)] and bars[-1].n == 4
    assert bars[-1].postfix.startswith("epoch 2/2, loss ")
