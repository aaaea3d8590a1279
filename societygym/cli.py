"""The ``societygym`` command: list, play and run environments; the leaderboard."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np

from societygym.agents import load_agent, parse_kv
from societygym.registry import ENTRIES, entry
from societygym.runner import SCHEDULES


def _table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def cmd_list(args: argparse.Namespace) -> int:
    rows = [
        (e.id, e.setting, e.modality, "multi" if e.multi_agent else "single", e.description)
        for e in ENTRIES
    ]
    print(_table(rows, ("id", "setting", "modality", "agents", "description")))
    return 0


def _make_env(env_id: str, env_kwargs: dict[str, Any]) -> Any:
    import societygym

    return societygym.make(env_id, **env_kwargs)


def cmd_play(args: argparse.Namespace) -> int:
    from societygym.agents.human import HumanAgent

    if entry(args.env_id).multi_agent:
        from societygym.envs.persuasion.rollout import play_against

        partner = load_agent(args.partner, **parse_kv(args.partner_arg))
        play_against(
            partner,
            env_id=args.env_id,
            human=HumanAgent(multiline=args.multiline),
            seat=args.seat,
            episodes=args.episodes,
            seed=args.seed,
            env_kwargs=parse_kv(args.env_arg),
        )
        return 0
    env = _make_env(args.env_id, parse_kv(args.env_arg))
    agent = HumanAgent(multiline=args.multiline)
    agent.bind(args.env_id, env.action_space, type(env.unwrapped))
    episode = 0
    try:
        while args.episodes is None or episode < args.episodes:
            observation, info = env.reset(seed=args.seed + episode)
            total, done = 0.0, False
            while not done:
                action = agent.act(observation, info)
                observation, reward, terminated, truncated, info = env.step(action)
                total += float(reward)
                done = terminated or truncated
                shown = {k: v for k, v in info.items() if _short(v)}
                print(f"\nreward {reward:+.2f}  {shown}")
                for key, value in info.items():
                    if isinstance(value, np.ndarray) and value.ndim in (2, 3) and value.size > 64:
                        print(f"[{key}] saved to {agent.save_image(value)}")
            agent.show(observation)
            print(f"Episode {episode} return: {total:+.2f}\n" + "=" * 60)
            episode += 1
    except (EOFError, KeyboardInterrupt):
        print("\nbye")
    return 0


def _short(value: Any) -> bool:
    return isinstance(value, (bool, int, float, type(None), np.generic)) or (
        isinstance(value, str) and len(value) <= 200
    )


def cmd_run(args: argparse.Namespace) -> int:
    from societygym.runner import run_episodes

    agent = load_agent(args.agent, **parse_kv(args.agent_arg))
    run: Any = partial(run_episodes, schedule=args.schedule)
    if entry(args.env_id).multi_agent:
        from societygym.envs.persuasion.rollout import run_parallel_episodes

        run = run_parallel_episodes
        if args.agent_1:  # a second policy for the second seat
            agent = {
                "agent_0": agent,
                "agent_1": load_agent(args.agent_1, **parse_kv(args.agent_1_arg)),
            }
    summary = run(
        args.env_id,
        agent,
        episodes=args.episodes,
        seed=args.seed,
        env_kwargs=parse_kv(args.env_arg),
        batch_size=args.batch_size,
        out_dir=args.out,
        progress=not args.quiet,
    )
    rows = [("episodes", str(summary.episodes))]
    rows.append(("mean return", f"{summary.mean_return:.4f} ± {summary.ci95:.4f} (95% CI)"))
    rows += [(name, _fmt(value)) for name, value in summary.metrics.items()]
    print(_table(rows, ("metric", "value")))
    if args.out:
        print(f"\ntraces and summary written to {args.out}")
    return 0


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4f}"
    return str(value)


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
