"""The ``societygym`` command: list, play and run environments; the leaderboard."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from societygym.agents import load_agent, parse_kv
from societygym.registry import ENTRIES, entry
from societygym.runner import SCHEDULES
from societygym.tables import format_table, metric_rows


def cmd_list(args: argparse.Namespace) -> int:
    rows = [
        (e.id, e.setting, e.modality, "multi" if e.multi_agent else "single", e.description)
        for e in ENTRIES
    ]
    print(format_table(rows, ("id", "setting", "modality", "agents", "description")))
    return 0


def cmd_play(args: argparse.Namespace) -> int:
    from societygym.agents.human import HumanAgent
    from societygym.episodes.terminal import play_in_terminal

    multi_agent = entry(args.env_id).multi_agent
    play_in_terminal(
        args.env_id,
        human=HumanAgent(multiline=args.multiline),
        partner=load_agent(args.partner, **parse_kv(args.partner_arg)) if multi_agent else None,
        seat=args.seat if multi_agent else None,
        episodes=args.episodes,
        seed=args.seed,
        env_kwargs=parse_kv(args.env_arg),
    )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from societygym.runner import run_episodes

    agent: Any = load_agent(args.agent, **parse_kv(args.agent_arg))
    if entry(args.env_id).multi_agent and args.agent_1:  # a second policy for the second seat
        agent = {
            "agent_0": agent,
            "agent_1": load_agent(args.agent_1, **parse_kv(args.agent_1_arg)),
        }
    summary = run_episodes(
        args.env_id,
        agent,
        episodes=args.episodes,
        seed=args.seed,
        env_kwargs=parse_kv(args.env_arg),
        batch_size=args.batch_size,
        out_dir=args.out,
        progress=not args.quiet,
        schedule=args.schedule,
        indexed=args.indexed,
    )
    rows, header = metric_rows(summary.metrics, summary.episodes, summary.mean_return, summary.ci95)
    print(format_table(rows, header))
    print("[lo, hi]: 95% interval (the mean return's: normal approximation)")
    if args.out:
        print(f"\ntraces and summary written to {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="societygym", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list every environment id").set_defaults(func=cmd_list)

    play = sub.add_parser("play", help="play an environment yourself in the terminal")
    play.add_argument("env_id")
    play.add_argument("--seed", type=int, default=0)
    play.add_argument("--episodes", type=int, default=None)
    play.add_argument("--env-arg", action="append", metavar="KEY=VALUE")
    play.add_argument("--multiline", action="store_true", help="multi-line text actions")
    play.add_argument("--partner", default="pbt-partner", help="multi-agent: the other side")
    play.add_argument("--partner-arg", action="append", metavar="KEY=VALUE")
    play.add_argument("--seat", default="agent_0", help="multi-agent: your agent id")
    play.set_defaults(func=cmd_play)

    run = sub.add_parser("run", help="run an agent for some episodes")
    run.add_argument("env_id")
    run.add_argument("--agent", default="random", help="built-in alias or module:Class")
    run.add_argument("--agent-arg", action="append", metavar="KEY=VALUE")
    run.add_argument("--agent-1", default=None, help="multi-agent: a different agent_1")
    run.add_argument("--agent-1-arg", action="append", metavar="KEY=VALUE")
    run.add_argument("--env-arg", action="append", metavar="KEY=VALUE")
    run.add_argument("--episodes", type=int, default=10)
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--batch-size", type=int, default=8)
    run.add_argument(
        "--schedule",
        choices=SCHEDULES,
        default="auto",
        help="auto: an LLM agent's copies share one continuously refilled decoding batch "
        "(single-agent envs); lockstep: one batched call per step",
    )
    run.add_argument(
        "--indexed",
        action="store_true",
        help="episode i plays instance i (a leaderboard task's episode of that seed and index); "
        "by default the seeded env picks the instance",
    )
    run.add_argument("--out", default=None, help="folder for traces and summary.json")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=cmd_run)

    from societygym.leaderboard.commands import add_parser as add_leaderboard

    add_leaderboard(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, KeyError, OSError) as error:
        print(f"societygym: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
