"""A tiny randomly initialised Llama with a locally trained tokenizer.

It loads and runs like any Hugging Face model but is small enough for unit tests to build,
load and decode in about a second, and it is a blank-slate student for teaching envs. The
tokenizer is byte-level BPE trained on generated text, so it covers every string and is the
same for every seed; the seed only drives the weights.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

from societygym.llm.cache import cached_model_dir

VERSION = 1  # bump when the architecture or tokenizer changes, so caches are rebuilt
VOCAB_SIZE = 1024
PAD, BOS, EOS = "<|endoftext|>", "<|im_start|>", "<|im_end|>"
CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

_COLORS = ["red", "green", "blue", "yellow", "black", "white", "purple", "orange", "brown", "grey"]
_SHAPES = ["circle", "square", "star", "cube", "sphere", "ring", "arrow", "heart", "cross"]
_ANIMALS = ["cat", "dog", "horse", "bird", "fish", "lion", "mouse", "snake", "rabbit", "whale"]
_PLACES = {
    "France": "Paris",
    "Italy": "Rome",
    "Spain": "Madrid",
    "Japan": "Tokyo",
    "Egypt": "Cairo",
    "Peru": "Lima",
    "Kenya": "Nairobi",
    "Canada": "Ottawa",
}
# Common words, so that the merges cover everyday text and not just the templates above.
_LEXICON = """
about after again answer around because before begin behind better between big both bring
build call came carry change child city close cold come could country course cut day did
different does done door down draw during each early earth easy eat enough even every eye
face fact fall family far fast father feel few field find fire first follow food foot form
found friend from full game gave girl give good great green ground group grow half hand happy
hard have head hear heard help here high hold home horse hour house idea important inside
just keep kind know land large last later learn leave left letter life light line list listen
little live long look made make many mean might mile mind money more morning most mother move
much music must name near need never next night number often old once only open order other
over page paper part people picture place plant play point press problem question quick read
ready real reason remember rest right river road rock room round rule said same school science
second seem sentence several short should show side simple since small snow song soon sound
speak special spell stand start state still stood story strong study such sun sure surface
table take talk teacher tell than thing think three through time today together told took top
toward town travel tree true try turn under until upon usual very voice walk want warm watch
water weather week well went were where which while white whole why wind winter with without
woman wood word work world would write wrong year young
"""
_VERBS = ["sees", "likes", "finds", "draws", "chases", "holds", "moves", "paints"]


def _corpus(lines: int = 6000) -> Iterator[str]:
    """Deterministic English-like lines: descriptions, questions, answers and arithmetic."""
    rng = random.Random(0)
    lexicon = _LEXICON.split()
    for _ in range(lines):
        kind = rng.randrange(6)
        if kind == 0:
            a, b = rng.choice(_ANIMALS), rng.choice(_ANIMALS)
            yield f"The {a} {rng.choice(_VERBS)} a {rng.choice(_COLORS)} {rng.choice(_SHAPES)}."
            yield f"A {b} is not a {a}, is it? No, it is a {b}."
        elif kind == 1:
            country, capital = rng.choice(sorted(_PLACES.items()))
            yield f"What is the capital of {country}? The capital of {country} is {capital}."
        elif kind == 2:
            x, y = rng.randrange(100), rng.randrange(100)
            yield f"Q: What is {x} + {y}? A: {x + y}. Q: Is {x} more than {y}? A: {x > y}"
        elif kind == 3:
            answer = rng.choice(["yes", "no", "Yes", "No", "maybe"])
            yield f"Is the {rng.choice(_SHAPES)} {rng.choice(_COLORS)}? Answer: {answer}"
        elif kind == 4:
            words = rng.sample(_COLORS + _SHAPES + _ANIMALS, 6)
            yield "def f(x):\n    return " + repr(words) + "  # " + " ".join(words).upper()
        else:
            words = rng.sample(lexicon, rng.randrange(4, 12))
            yield " ".join(words).capitalize() + rng.choice([".", "?", "!", ","])


def train_tokenizer() -> object:
    """A byte-level BPE ``PreTrainedTokenizerFast`` with ChatML special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=[PAD, BOS, EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(_corpus(), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        unk_token=None,
        chat_template=CHATML,
    )


def build_tiny_llm_dir(path: str | Path, seed: int = 0) -> Path:
    """Write a tiny Llama (hidden 64, 2 layers, 4 heads, 2 KV heads) and its tokenizer to
    ``path``; the same seed gives the same files."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    path = Path(path)
    tokenizer = train_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        # Wider than the usual 0.02 so a random model still has peaked, seed-specific outputs.
        initializer_range=0.2,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    with torch.random.fork_rng(devices=[]):  # seed the weights without touching global RNG
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def tiny_llm_dir(seed: int = 0) -> Path:
    """The tiny model for ``seed`` in the cache folder, built on first use."""
    return cached_model_dir(
        f"tiny-llama-v{VERSION}-seed{seed}", lambda p: build_tiny_llm_dir(p, seed)
    )
