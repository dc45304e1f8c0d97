"""``python -m ontraport_client.sandbox [--host H --port P --data demo ...]`` serves the sandbox;
``python -m ontraport_client.sandbox ping URL --contact ID ...`` sends a webhook as Ontraport would."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from .config import DEFAULT_API_KEY, DEFAULT_APP_ID
from .ping import main as ping_main
from .server import SandboxServer


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ontraport_client.sandbox",
        description="Serve a local imitation of Ontraport's REST API. "
        "Run 'python -m ontraport_client.sandbox ping --help' to send a webhook as Ontraport does.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--data", default="demo", help="'demo' (bundled), 'empty', or a JSON file")
    parser.add_argument("--app-id", default=DEFAULT_APP_ID, help="the Api-Appid accepted")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="the Api-Key accepted")
    parser.add_argument("--rate-limit", type=int, default=180, help="requests per window; 0 = unlimited")
    parser.add_argument("--window", type=float, default=60.0, help="rolling window in seconds")
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    parser.add_argument(
        "--state",
        metavar="FILE",
        help="keep the account (contacts, tags, ids given) in FILE across restarts: loaded instead of --data "
        "when it exists, written after every change (make run: var/sandbox-state.json)",
    )
    return parser.parse_args(argv)


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # Process managers (honcho, systemd) send SIGTERM: leave through the same path as Ctrl-C.
    raise KeyboardInterrupt


def serve(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    try:
        server = SandboxServer(
            host=args.host,
            port=args.port,
            data=args.data,
            app_id=args.app_id,
            api_key=args.api_key,
            rate_limit=args.rate_limit,
            window=args.window,
            log_requests=not args.quiet,
            state_file=args.state,
        )
        server.bind()
    except (OSError, ValueError) as error:  # a bad --state file too (JSON errors are ValueErrors)
        print(f"cannot start the sandbox: {error}", file=sys.stderr)
        return 2
    limit = f"{args.rate_limit} requests per {args.window:g}s" if args.rate_limit else "no rate limit"
    # The key is only echoed when it is the public default: a custom one stays off the screen and logs.
    key = args.api_key if args.api_key == DEFAULT_API_KEY else "(as given)"
    print(f"Ontraport sandbox: API {server.url} (Api-Appid {args.app_id}, Api-Key {key}), {limit}")
    print(f"control API {server.control_url}", flush=True)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C or SIGTERM: a normal way to stop
        server.serve_forever()
    print("Ontraport sandbox stopped", flush=True)
    return 0


def main(argv: Sequence[str]) -> int:
    if argv and argv[0] == "ping":
        return ping_main(argv[1:])
    if argv and argv[0] == "serve":
        argv = argv[1:]
    return serve(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
