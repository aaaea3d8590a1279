"""``python -m societygym.baselines.regal train|show``: learn a code bank, or list one."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from societygym import progress
from societygym.baselines.regal.domains import DOMAINS
from societygym.baselines.regal.training import TrainConfig, explain_empty_bank, train
from societygym.envs.programs.codebank import CodeBank


def _train(args: argparse.Namespace) -> int:
    from societygym.llm import load_llm

    config = TrainConfig(
        domain=args.domain,
        batch_size=args.batch_size,
        limit=args.limit,
        prune_every=args.prune_every,
        edit_every=args.edit_every,
        min_usage=args.min_usage,
        grace_rounds=args.grace_rounds,
        max_tokens=args.max_tokens,
        temperature=args.temperature,
        seed=args.seed,
    )
    bank = train(
        load_llm(args.llm),
        config,
        args.out,
        resume=args.resume,
        log=progress.write,
        progress=not args.quiet,
    )
    print(f"{len(bank)} helpers in {args.out}/codebank.json and {args.out}/codebank.py")
    if not len(bank):
        # Still a usable bank: ReGALAgent with no helpers prompts as PrimitiveAgent does.
        print(f"The bank is empty: {explain_empty_bank(args.out)}")
    return 0


def _show(args: argparse.Namespace) -> int:
    bank = CodeBank.load(args.codebank)
    print(f"{bank.domain} code bank, {len(bank)} helpers, {bank.round} rounds")
    for helper in bank:
        print(
            f"  {helper.name:30} v{helper.version}  passed {helper.passes}/{helper.uses}  "
            f"score {helper.score:+.2f}"
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m societygym.baselines.regal")
    sub = parser.add_subparsers(dest="command", required=True)
    defaults = TrainConfig(domain="")
    run = sub.add_parser("train", help="learn a code bank from a domain's training split")
    run.add_argument("--domain", required=True, choices=sorted(DOMAINS))
    run.add_argument("--llm", default="embedded", help="an LLM spec, see societygym.llm")
    run.add_argument("--out", required=True, help="folder for codebank.json/.py and the log")
    run.add_argument("--limit", type=int, default=None, help="train on this many tasks")
    run.add_argument("--batch-size", type=int, default=None, help="programs per refactoring")
    run.add_argument("--prune-every", type=int, default=defaults.prune_every)
    run.add_argument("--edit-every", type=int, default=defaults.edit_every)
    run.add_argument("--min-usage", type=int, default=defaults.min_usage)
    run.add_argument("--grace-rounds", type=int, default=defaults.grace_rounds)
    run.add_argument("--max-tokens", type=int, default=defaults.max_tokens)
    run.add_argument("--temperature", type=float, default=defaults.temperature)
    run.add_argument("--seed", type=int, default=defaults.seed)
    run.add_argument("--resume", action="store_true", help="continue the run saved in --out")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=_train)
    show = sub.add_parser("show", help="list the helpers of a codebank.json")
    show.add_argument("codebank")
    show.set_defaults(func=_show)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
