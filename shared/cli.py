"""`lumbung`: the operator's command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import timedelta

from shared.auth import Role, mint_token
from shared.settings import Settings


def _token(args: argparse.Namespace) -> int:
    settings = Settings()
    try:
        token = mint_token(
            settings.secret,
            role=Role(args.role),
            sub=args.sub or f"{args.role}@{args.district or ','.join(args.village)}",
            district=args.district,
            villages=args.village,
            ttl=timedelta(hours=args.hours or settings.token_ttl_hours),
        )
    except ValueError as exc:
        print(f"lumbung token: {exc}", file=sys.stderr)
        return 2
    print(token)
    return 0


def _run(args: argparse.Namespace) -> int:
    from services.main import serve

    serve(args.service)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lumbung", description="Lumbung — Ekonomi Hijau dari Desa: operator commands."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the embedded platform (or one service)")
    run.add_argument("--service", help="run only this service (distributed mode)")
    run.set_defaults(func=_run)

    tok = sub.add_parser("token", help="mint a scoped bearer token (signed with LUMBUNG_SECRET)")
    tok.add_argument("--role", required=True, choices=[r.value for r in Role])
    scope = tok.add_mutually_exclusive_group(required=True)
    scope.add_argument("--district", help="4-digit district code")
    scope.add_argument("--village", action="append", help="10-digit village code (repeatable)")
    tok.add_argument("--sub", help="who the token is for (default: role@scope)")
    tok.add_argument("--hours", type=int, help="lifetime in hours")
    tok.set_defaults(func=_token)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
