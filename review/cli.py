"""``tmscreen serve | users | labels | audit | serve-screen | tokens``: the review app's commands
and the screening service's.

Wiring (in pipeline/cli.py)::

    from review.cli import REVIEW_COMMANDS, add_review_parsers
    add_review_parsers(sub)           # sub = parser.add_subparsers(dest="command")
    COMMANDS.update(REVIEW_COMMANDS)  # each handler is handler(args, config) -> exit code

Every handler accepts ``config`` (unused) so it fits ``pipeline.cli.main``. Exit codes: 0 success,
1 a check failed (``audit verify`` found a bad row), 2 unusable input (no state, bad role, …).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from pipeline.cli_args import add_common


def _add_db(p: argparse.ArgumentParser, state_required: bool) -> None:
    p.add_argument("--state", required=state_required, help="state folder (runs/, review.db)")
    p.add_argument("--db", help="database URL (default: sqlite:///STATE/review.db), e.g. "
                               "postgresql+psycopg://user@host/tmscreen")


def add_review_parsers(subparsers) -> None:
    """Add ``serve``, ``users``, ``labels`` and ``audit`` to the ``tmscreen`` sub-parsers."""
    p = subparsers.add_parser("serve", help="run the reviewer web app",
                              epilog="example: tmscreen serve --state /srv/tmscreen --port 8000")
    _add_db(p, state_required=True)
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--https-only", action="store_true", help="mark the session cookie Secure (behind TLS)")
    add_common(p)

    p = subparsers.add_parser("users", help="manage review app users")
    usub = p.add_subparsers(dest="users_command", required=True)
    a = usub.add_parser("add", help="add a user (or reset an existing user's role and password)",
                        epilog="example: echo 'long secret' | tmscreen users add alice --role reviewer "
                               "--password-stdin --state /srv/tmscreen")
    a.add_argument("name")
    a.add_argument("--role", required=True, choices=["reviewer", "supervisor", "admin"])
    a.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of stdin (otherwise prompt)")
    _add_db(a, state_required=False)
    add_common(a)
    dv = usub.add_parser("deactivate", help="stop a user from logging in and end its open sessions")
    dv.add_argument("name")
    _add_db(dv, state_required=False)
    add_common(dv)
    ls = usub.add_parser("list", help="list users")
    _add_db(ls, state_required=False)
    add_common(ls)

    p = subparsers.add_parser("labels", help="reviewer decisions as training labels")
    lsub = p.add_subparsers(dest="labels_command", required=True)
    e = lsub.add_parser("export", help="write labels CSV (applicant_key,label,decision,reviewer,decided_at) "
                                       "for tmscreen train --labels",
                        epilog="confirm → 1, dismiss → 0; escalations, repair requests and pending decisions "
                               "are left out")
    _add_db(e, state_required=True)
    e.add_argument("--out", required=True)
    add_common(e)

    p = subparsers.add_parser("serve-screen", help="run the screening service (POST /api/screen) for filing systems",
                              epilog="example: tmscreen serve-screen --state /srv/tmscreen --port 8010 "
                                     "(docs/screening.md)")
    _add_db(p, state_required=True)
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8010)
    add_common(p)

    p = subparsers.add_parser("tokens", help="API tokens of the screening service (stored hashed)")
    tsub = p.add_subparsers(dest="tokens_command", required=True)
    a = tsub.add_parser("add", help="a new token for a client; printed once",
                        epilog="example: tmscreen tokens add filing-portal --scope screen --state /srv/tmscreen")
    a.add_argument("client")
    a.add_argument("--scope", action="append", required=True, help="scope granted (screen); repeatable")
    _add_db(a, state_required=False)
    add_common(a)
    r = tsub.add_parser("revoke", help="revoke a token by id (refused from the next request on)")
    r.add_argument("id", type=int)
    _add_db(r, state_required=False)
    add_common(r)
    ls = tsub.add_parser("list", help="list tokens (id, client, scopes, created, revoked)")
    _add_db(ls, state_required=False)
    add_common(ls)

    p = subparsers.add_parser("audit", help="the review app's audit log")
    asub = p.add_subparsers(dest="audit_command", required=True)
    v = asub.add_parser("verify", help="recompute the hash chain; exit 1 naming the first bad row")
    _add_db(v, state_required=True)
    add_common(v)


def _sessionmaker(args):
    from review import db as rdb

    if not args.db and not args.state:
        print("error: give --state STATE (uses STATE/review.db) or --db URL", file=sys.stderr)
        raise SystemExit(2)
    if args.state and not args.db and not Path(args.state).is_dir():
        print(f"error: state folder {args.state} does not exist", file=sys.stderr)
        raise SystemExit(2)
    url = args.db or rdb.default_db_url(Path(args.state))
    return rdb.make_sessionmaker(rdb.make_engine(url),
                                 anchor=rdb.anchor_path(url, Path(args.state) if args.state else None))


def _cli_actor() -> str:
    try:
        return "cli:" + getpass.getuser()
    except Exception:  # no login name (containers)
        return "cli"


def cmd_serve(args, config=None) -> int:
    from review.app import ReviewSettings, serve

    state = Path(args.state)
    if not state.is_dir():
        print(f"error: state folder {state} does not exist", file=sys.stderr)
        return 2
    serve(state, args.db, host=args.host, port=args.port, settings=ReviewSettings(https_only=args.https_only))
    return 0


def cmd_users(args, config=None) -> int:
    from sqlalchemy import select

    from review import db as rdb

    db = _sessionmaker(args)
    if args.users_command == "list":
        with db() as s:
            for u in s.execute(select(rdb.User).order_by(rdb.User.name)).scalars():
                print(f"{u.name}\t{u.role}\t{'active' if u.active else 'inactive'}\t{u.created_at}")
        return 0
    if args.users_command == "deactivate":
        try:
            rdb.deactivate_user(db, args.name)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        rdb.append_audit(db, _cli_actor(), "user_deactivated", args.name, {})
        print(f"user {args.name} deactivated; its sessions ended")
        return 0
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            print("error: the passwords differ", file=sys.stderr)
            return 2
    try:
        rdb.add_user(db, args.name, args.role, password)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rdb.append_audit(db, _cli_actor(), "user_added", args.name, {"role": args.role})
    print(f"user {args.name} ({args.role}) saved")
    return 0


def cmd_labels(args, config=None) -> int:
    from review import db as rdb
    from review.labels import write_labels

    db = _sessionmaker(args)
    n = write_labels(db, Path(args.out))
    rdb.append_audit(db, _cli_actor(), "export", "labels.csv", {"rows": n, "out": str(Path(args.out).resolve())})
    print(f"{n} labels written to {args.out}")
    return 0


def cmd_audit(args, config=None) -> int:
    from review import db as rdb

    db = _sessionmaker(args)
    ok, message, _ = rdb.verify_audit(db)
    print(message, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


def cmd_serve_screen(args, config=None) -> int:
    import uvicorn

    from review.screen_api import create_screen_app

    state = Path(args.state)
    if not state.is_dir():
        print(f"error: state folder {state} does not exist", file=sys.stderr)
        return 2
    if config is None:
        from core.config import load_config

        config = load_config()
    uvicorn.run(create_screen_app(state, config, args.db), host=args.host, port=args.port, log_level="warning")
    return 0


def cmd_tokens(args, config=None) -> int:
    from sqlalchemy import select

    from review import db as rdb

    db = _sessionmaker(args)
    try:
        if args.tokens_command == "add":
            token_id, token = rdb.add_token(db, args.client, args.scope, _cli_actor())
            print(f"token {token_id} for {args.client} ({' '.join(sorted(set(args.scope)))}); store it now, "
                  f"it is not shown again:\n{token}")
        elif args.tokens_command == "revoke":
            rdb.revoke_token(db, args.id, _cli_actor())
            print(f"token {args.id} revoked")
        else:
            with db() as s:
                for t in s.execute(select(rdb.ApiToken).order_by(rdb.ApiToken.id)).scalars():
                    print(f"{t.id}\t{t.client}\t{t.scopes}\t{t.created_at}\t{t.revoked_at or 'active'}")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


REVIEW_COMMANDS = {"serve": cmd_serve, "users": cmd_users, "labels": cmd_labels, "audit": cmd_audit,
                   "serve-screen": cmd_serve_screen, "tokens": cmd_tokens}


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (``python -m review.cli``) until pipeline/cli.py wires the commands in."""
    os.umask(0o077)  # as ``tmscreen``: what the commands create is the owner's only
    parser = argparse.ArgumentParser(prog="tmscreen")
    sub = parser.add_subparsers(dest="command", required=True)
    add_review_parsers(sub)
    args = parser.parse_args(argv)
    return REVIEW_COMMANDS[args.command](args, None)


if __name__ == "__main__":
    sys.exit(main())
