"""``societygym leaderboard …``: suites, submit, reproduce, rescore, show, site, serve, import,
export, verify, baselines."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from societygym.agents import parse_kv
from societygym.leaderboard.submission import DEFAULT_RUNS, submit
from societygym.tables import estimate, format_table

__all__ = ["DEFAULT_RUNS", "DEFAULT_SITE", "add_parser", "submit"]

DEFAULT_SITE = "runs/leaderboard-site"  # `site` writes here and `serve` builds and serves it


def _announce_db(db: str | None) -> None:
    """One line on stderr naming the database a command reads or writes (by default a file
    in the user's data folder, which nothing else would show)."""
    from societygym.leaderboard.store import display_url

    print(f"leaderboard database: {display_url(db)}", file=sys.stderr, flush=True)


def _print_summary(bundle: dict[str, Any]) -> None:
    summary = bundle["summary"]
    rows = [
        (task, estimate(s["mean"], *s["ci95"]), " ".join(f"{v:.3f}" for v in s["per_seed"]))
        for task, s in summary["tasks"].items()
    ]
    rows.append(
        (
            "SCORE",
            estimate(summary["score"], *summary["ci95"]),
            " ".join(f"{v:.3f}" for v in summary["per_seed"]),
        )
    )
    print(format_table(rows, ("task", "mean [95% CI]", "per seed")))
    print(f"\nbundle {bundle['hash']}")


def cmd_submit(args: argparse.Namespace) -> int:
    if not args.no_store:
        _announce_db(args.db)
    bundle = submit(
        args.suite,
        args.agent,
        parse_kv(args.agent_arg),
        args.name,
        db=args.db,
        runs=args.runs,
        run_dir=args.run_dir,
        backend=args.backend,
        workers=args.workers,
        batch_size=args.batch_size,
        progress=not args.quiet,
        store=not args.no_store,
    )
    _print_summary(bundle)
    print(
        f"written to {bundle['run']['run_dir']}/bundle.json"
        + ("" if args.no_store else " and stored")
    )
    return 0


def _stored_or_file(store: Any, target: str) -> dict[str, Any]:
    """A bundle file, or a stored bundle named by (a prefix of) its hash."""
    from societygym.leaderboard import bundle as bundles

    if Path(target).is_file():
        return bundles.read(target)
    digest = target.removeprefix("sha256:")
    found = [
        r["hash"] for r in store.rows() if r["hash"].removeprefix("sha256:").startswith(digest)
    ]
    if len(digest) < 8 or len(found) != 1:
        raise ValueError(f"{target}: neither a bundle file nor one stored bundle's hash prefix")
    return store.get(found[0])


def cmd_reproduce(args: argparse.Namespace) -> int:
    """Re-run bundles' specifications, compare every episode, record the verification."""
    from societygym.leaderboard.reproduce import reproduce
    from societygym.leaderboard.store import file_name, open_board

    store = open_board(args.db) if not args.no_record else None
    failed = 0
    for target in args.bundles:
        original = _stored_or_file(store, target) if store else _read_file(target)
        folder = Path(args.runs) / "reproduce" / file_name(original["hash"])[:-5]
        outcome = reproduce(
            original,
            folder,
            backend=args.backend,
            workers=args.workers,
            progress=not args.quiet,
            who=args.verifier,
        )
        if store is not None:
            store.add(original)
            store.add_verification(outcome.record)
        score = f"score {original['summary']['score']:.6f} -> {outcome.record['score']:.6f}"
        if outcome.passed:
            print(
                f"{target}: verified ({outcome.rule}, "
                f"{outcome.record['episodes']} episodes; {score})"
            )
        else:
            failed += 1
            print(
                f"{target}: NOT reproduced ({outcome.rule}, {outcome.mismatches} of "
                f"{outcome.record['episodes']} episodes differ; {score}): {outcome.first_mismatch}"
            )
    return 1 if failed else 0


def _read_file(path: str) -> dict[str, Any]:
    from societygym.leaderboard.bundle import read

    return read(path)


def cmd_rescore(args: argparse.Namespace) -> int:
    from societygym.leaderboard.reproduce import rescore, stale_specs
    from societygym.leaderboard.store import open_board

    store = open_board(args.db, shipped=not args.no_shipped)
    if args.dry_run:
        for bundle in stale_specs(store, args.suite):
            print(f"{bundle['name']:40s} {bundle['suite']['name']:28s} {bundle['hash'][:19]}")
        return 0
    fresh = rescore(
        store,
        suite=args.suite,
        runs=args.runs,
        backend=args.backend,
        workers=args.workers,
        progress=not args.quiet,
    )
    for bundle in fresh:
        print(
            f"{bundle['name']:40s} {bundle['suite']['name']:28s} {bundle['summary']['score']:+.4f}"
        )
    print(f"{len(fresh)} stale entr{'y' if len(fresh) == 1 else 'ies'} re-scored; old rows kept")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from societygym.leaderboard.board import ranked, render_text
    from societygym.leaderboard.store import open_board

    _announce_db(args.db)
    store = open_board(args.db, shipped=not args.no_shipped)
    rows = store.rows(args.suite)
    if args.verified_only:
        rows = [r for r in rows if r["verification"] == "verified"]
    print(render_text(ranked(rows, every=args.all)))
    return 0


def cmd_site(args: argparse.Namespace) -> int:
    from societygym.leaderboard.site import build_site
    from societygym.leaderboard.store import open_board

    _announce_db(args.db)
    index = build_site(open_board(args.db, shipped=not args.no_shipped), Path(args.out))
    print(f"site written to {index}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from societygym.leaderboard.serve import serve
    from societygym.leaderboard.site import build_site
    from societygym.leaderboard.store import open_board

    folder = Path(args.out)
    if not args.no_build:
        _announce_db(args.db)
        build_site(open_board(args.db, shipped=not args.no_shipped), folder)
    serve(folder, args.host, args.port)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from societygym.leaderboard.store import Store

    added, skipped = Store(args.db).add_files(args.bundles)
    print(f"{added} bundle(s) added, {skipped} already stored")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from societygym.leaderboard.store import open_board

    paths = open_board(args.db, shipped=False).export(args.out, args.suite)
    print(f"{len(paths)} bundle(s) written to {args.out}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Check every file; one line each (a rejected file: its path and the reason)."""
    import sys

    from societygym.leaderboard.bundle import BundleError, read

    rejected = 0
    for path in args.bundles:
        try:
            bundle = read(path)
        except BundleError as error:
            rejected += 1
            print(f"societygym: error: {error}", file=sys.stderr)
            continue
        print(
            f"{path}: ok ({bundle['name']}, {bundle['suite']['name']} "
            f"v{bundle['suite']['version']}, score {bundle['summary']['score']:.4f}; "
            "consistent, not reproduced: `leaderboard reproduce` verifies it)"
        )
    return 1 if rejected else 0


def cmd_suites(args: argparse.Namespace) -> int:
    from societygym.leaderboard.suites import SUITES

    rows = []
    for suite in SUITES.values():
        status = ""
        if args.verify and suite.instances_sha:
            from societygym.leaderboard.episodes import instances_sha

            status = "ok" if instances_sha(suite) == suite.instances_sha else "CHANGED"
        rows.append(
            (
                suite.name,
                f"v{suite.version}",
                str(len(suite.tasks)),
                str(suite.episodes),
                suite.spec_hash.split(":")[1][:12],
                status,
                suite.description,
            )
        )
    header = ("suite", "version", "tasks", "episodes", "hash", "instances", "description")
    print(format_table(rows, header))
    if args.json:
        print(json.dumps({s.name: s.to_dict() for s in SUITES.values()}, indent=1))
    return 0


def cmd_baselines(args: argparse.Namespace) -> int:
    from societygym.leaderboard.baselines import board_coverage, run_baselines, shipped_bundles

    if args.status:
        from societygym.leaderboard.store import file_name

        rows = [
            (
                c.baseline.name,
                c.suite,
                "expensive" if c.baseline.expensive else "cheap",
                Path(file_name(c.bundle)).stem if c.bundle else "missing",  # its board file
            )
            for c in board_coverage(shipped_bundles())
        ]
        print(format_table(rows, ("baseline", "suite", "cost", "shipped bundle")))
        return 0
    for bundle in run_baselines(
        args.suite,
        args.baseline,
        args.out,
        db=args.db,
        backend=args.backend,
        workers=args.workers,
        include_expensive=args.expensive,
        missing_only=args.missing,
        progress=not args.quiet,
    ):
        print(
            f"{bundle['name']:40s} {bundle['suite']['name']:28s} {bundle['summary']['score']:+.4f}"
        )
    return 0


def add_parser(sub: Any) -> None:
    """Register ``leaderboard`` and its subcommands on the top-level subparsers."""
    board = sub.add_parser("leaderboard", help="evaluate agents on suites, keep and show results")
    commands = board.add_subparsers(dest="leaderboard_command", required=True)

    def with_db(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        parser.add_argument(
            "--db", default=None, help="SQLAlchemy URL or SQLite path ($SOCIETYGYM_LEADERBOARD_DB)"
        )
        return parser

    def with_backend(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--backend", choices=("serial", "process", "ray"), default="process")
        parser.add_argument("--workers", type=int, default=None, help="default: CPU count")
        parser.add_argument("--quiet", action="store_true", help="no progress bar")

    suites = commands.add_parser("suites", help="list the suites")
    suites.add_argument("--verify", action="store_true", help="recompute instance hashes")
    suites.add_argument("--json", action="store_true", help="also print the full specs")
    suites.set_defaults(func=cmd_suites)

    run = with_db(commands.add_parser("submit", help="evaluate an agent and store its bundle"))
    run.add_argument("--agent", required=True, help="built-in alias or module:Class")
    run.add_argument("--agent-arg", action="append", metavar="KEY=VALUE")
    run.add_argument("--suite", required=True, help="a suite name or a suite .json file")
    run.add_argument("--name", required=True, help="TEAM/AGENT")
    run.add_argument("--batch-size", type=int, default=8, help="lockstep episodes per group")
    run.add_argument("--runs", default=DEFAULT_RUNS, help="where run folders go")
    run.add_argument("--run-dir", default=None, help="this run's folder (default: derived)")
    run.add_argument("--no-store", action="store_true", help="write the bundle only")
    with_backend(run)
    run.set_defaults(func=cmd_submit)

    again = with_db(
        commands.add_parser(
            "reproduce", help="re-run bundles' specifications; record them verified if they match"
        )
    )
    again.add_argument("bundles", nargs="+", metavar="BUNDLE", help="a file or a stored hash")
    again.add_argument("--runs", default=DEFAULT_RUNS, help="where run folders go")
    again.add_argument("--verifier", default=None, help="who ran it ($SOCIETYGYM_VERIFIER)")
    again.add_argument("--no-record", action="store_true", help="compare only, store nothing")
    with_backend(again)
    again.set_defaults(func=cmd_reproduce)

    rescore = with_db(
        commands.add_parser("rescore", help="re-run entries made under older env/scorer code")
    )
    rescore.add_argument("--stale", action="store_true", required=True, help="the stale ones")
    rescore.add_argument("--suite", default=None)
    rescore.add_argument("--runs", default=DEFAULT_RUNS, help="where run folders go")
    rescore.add_argument("--dry-run", action="store_true", help="list them, run nothing")
    rescore.add_argument("--no-shipped", action="store_true", help="leave out shipped baselines")
    with_backend(rescore)
    rescore.set_defaults(func=cmd_rescore)

    show = with_db(commands.add_parser("show", help="print the board"))
    show.add_argument("--suite", default=None)
    show.add_argument("--all", action="store_true", help="every bundle, not each name's best")
    show.add_argument("--no-shipped", action="store_true", help="leave out shipped baselines")
    show.add_argument("--verified-only", action="store_true", help="only reproduced entries")
    show.set_defaults(func=cmd_show)

    site = with_db(commands.add_parser("site", help="build the static HTML board"))
    site.add_argument("--out", default=DEFAULT_SITE, help=f"default: {DEFAULT_SITE}")
    site.add_argument("--no-shipped", action="store_true")
    site.set_defaults(func=cmd_site)

    serve = with_db(commands.add_parser("serve", help="build the site and serve it locally"))
    serve.add_argument("--out", default=DEFAULT_SITE, help="the folder `site --out` wrote")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-build", action="store_true", help="serve --out as it is")
    serve.add_argument("--no-shipped", action="store_true")
    serve.set_defaults(func=cmd_serve)

    imp = with_db(commands.add_parser("import", help="add bundle files to the database"))
    imp.add_argument("bundles", nargs="+")
    imp.set_defaults(func=cmd_import)

    exp = with_db(commands.add_parser("export", help="write the database's bundles as files"))
    exp.add_argument("--out", required=True)
    exp.add_argument("--suite", default=None)
    exp.set_defaults(func=cmd_export)

    verify = commands.add_parser("verify", help="check bundle files (hash, schema, summary)")
    verify.add_argument("bundles", nargs="+")
    verify.set_defaults(func=cmd_verify)

    base = with_db(commands.add_parser("baselines", help="evaluate the built-in baselines"))
    base.add_argument("--suite", action="append", help="only these suites")
    base.add_argument("--baseline", action="append", help="only these baseline names")
    base.add_argument("--out", default=None, help="also write the bundles here (e.g. the board)")
    base.add_argument("--expensive", action="store_true", help="include LLM/training baselines")
    base.add_argument(
        "--status", action="store_true", help="list which baselines the shipped board holds"
    )
    base.add_argument(
        "--missing", action="store_true", help="skip the pairs the shipped board already holds"
    )
    with_backend(base)
    base.set_defaults(func=cmd_baselines)
