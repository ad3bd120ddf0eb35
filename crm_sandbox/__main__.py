"""Command line: `python -m crm_sandbox serve ...` and `python -m crm_sandbox seed ...`."""

import argparse
import os
import sys
import time

from . import seed as seeding
from .app import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_CONFIG, DEFAULT_REFRESH_TOKEN, Sandbox
from .server import make_server
from .store import Store


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m crm_sandbox",
                                     description="A local server that speaks the Zoho CRM REST API (v8 shapes).")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("serve", "seed"):
        command = commands.add_parser(name)
        command.add_argument("--data", default=os.path.join("var", "crm-sandbox.sqlite3"),
                             help="SQLite file holding the sandbox's data (created when missing)")
        command.add_argument("--seed", default="demo", choices=seeding.SEEDS)
        command.add_argument("--seed-size", default=None,
                             help="record counts, e.g. accounts=100000,contacts=100000,vendors=20,products=60")
    serve = commands.choices["serve"]
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    serve.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    serve.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    serve.add_argument("--refresh-token", default=DEFAULT_REFRESH_TOKEN)
    serve.add_argument("--token-lifetime", type=int, default=DEFAULT_CONFIG["access_token_lifetime"],
                       help="access token lifetime in seconds")
    serve.add_argument("--utc-offset", default=DEFAULT_CONFIG["utc_offset"],
                       help="the CRM org's UTC offset used in date-times, e.g. +05:30")
    serve.add_argument("--verbose", action="store_true", help="log each request (path only) to stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        sizes = seeding.parse_sizes(args.seed_size) if args.seed_size else None
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    folder = os.path.dirname(os.path.abspath(args.data))
    os.makedirs(folder, exist_ok=True)
    started = time.perf_counter()
    if args.command == "seed":
        store = Store(args.data)
        counts = seeding.seed(store, args.seed, sizes)
        store.close()
        print(f"seeded {args.data} with {counts} in {time.perf_counter() - started:.1f}s")
        return 0

    sandbox = Sandbox(args.data, seed_name=args.seed, seed_sizes=sizes, client_id=args.client_id,
                      client_secret=args.client_secret, refresh_token=args.refresh_token,
                      config={"access_token_lifetime": args.token_lifetime, "utc_offset": args.utc_offset})
    server = make_server(sandbox, args.host, args.port, verbose=args.verbose)
    host, port = server.server_address[:2]
    # These are the sandbox's own demo credentials: printing them is the point.
    print(f"CRM sandbox listening on http://{host}:{port}", flush=True)
    print(f"  data file      {args.data} (ready in {time.perf_counter() - started:.1f}s)")
    print(f"  client id      {sandbox.client_id}")
    print(f"  client secret  {sandbox.client_secret}")
    print(f"  refresh token  {sandbox.refresh_token}")
    print(f"  accounts URL   http://{host}:{port}/oauth/v2/token", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        sandbox.store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
