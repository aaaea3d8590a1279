"""VQA image generation throughput. Prints one JSON line.

- procedural: random scenes drawn by the embedded renderer (``scenes.render``) at the
  students' 64 px, and from parsed text descriptions (what a teacher's example costs);
- CNN student: seconds to train on, and to answer, a batch of generated examples;
- diffusers (``--diffusers <pipeline id or dir>``, on a GPU when there is one): images/s of
  any text-to-image pipeline, e.g. ``stabilityai/sdxl-turbo`` at 4 steps.

    python benchmarks/bench_vqa_render.py [--seconds 2] [--diffusers stabilityai/sdxl-turbo]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from societygym.envs.dataenv.domains.vqa import scenes


def per_second(work, seconds: float) -> float:
    """Calls of ``work`` per second over about ``seconds``."""
    start, calls = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        work()
        calls += 1
    return calls / (time.perf_counter() - start)


def student_seconds(examples: int) -> dict[str, float]:
    from societygym.envs.dataenv.domains.vqa.domain import VQADomain

    domain = VQADomain()
    rng = np.random.default_rng(0)
    data = [e for skill in domain.skills for e in domain.generate(skill, examples // 7, rng)]
    pairs = [domain.training_pair(e) for e in data]
    student = domain.make_student("cnn", "lora", None, 0)
    start = time.perf_counter()
    stats = student.train(pairs, seed=0)
    trained = time.perf_counter() - start
    items = domain.split("validation", 20)
    start = time.perf_counter()
    student.answer([domain.student_input(i) for i in items])
    return {
        "train_examples": len(pairs),
        "train_epochs": student.epochs,
        "train_seconds": round(trained, 2),
        "eval_items": len(items),
        "eval_seconds": round(time.perf_counter() - start, 3),
        "last_loss": stats.losses[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--student-examples", type=int, default=280)
    parser.add_argument("--diffusers", default=None, help="a diffusers pipeline id or dir")
    parser.add_argument("--diffusers-images", type=int, default=16)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    pool = [scenes.random_scene(rng) for _ in range(256)]
    texts = [scenes.describe(s) for s in pool]
    counter = iter(range(10**9))
    summary = {
        "benchmark": "vqa_render",
        "size": args.size,
        "procedural_images_per_second": round(
            per_second(lambda: scenes.render(pool[next(counter) % 256], args.size), args.seconds)
        ),
        "from_description_images_per_second": round(
            per_second(
                lambda: scenes.render(
                    scenes.parse_description(texts[next(counter) % 256]), args.size
                ),
                args.seconds,
            )
        ),
        "cnn_student": student_seconds(args.student_examples),
    }
    if args.diffusers:
        from societygym.envs.dataenv.domains.vqa.text_to_image import DiffusersBackend

        backend = DiffusersBackend(args.diffusers)
        backend(texts[:1], args.size)  # load and warm up outside the timing
        start = time.perf_counter()
        backend(texts[: args.diffusers_images], args.size)
        summary["diffusers"] = {
            "pipeline": args.diffusers,
            "device": str(backend.pipe.device),
            "steps": backend.steps,
            "images_per_second": round(args.diffusers_images / (time.perf_counter() - start), 2),
        }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
