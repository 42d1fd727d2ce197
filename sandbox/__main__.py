"""Command line: ``python -m sandbox [--host H] [--port P] [--state-delay SECONDS]``."""

import argparse

from sandbox.server import DEFAULT_HOST, DEFAULT_PORT, DEFAULT_STATE_DELAY, run


def main(argv: list[str] | None = None) -> None:
    """Parse the flags and serve the sandbox until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="Serve a local AWS sandbox (the EC2 API, with VPN emulation).",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to listen on")
    parser.add_argument(
        "--state-delay",
        type=float,
        default=DEFAULT_STATE_DELAY,
        metavar="SECONDS",
        help="how long resources stay pending/deleting/attaching before settling",
    )
    args = parser.parse_args(argv)
    run(host=args.host, port=args.port, state_delay=args.state_delay)


if __name__ == "__main__":
    main()
