"""`python -m stripe_standin`: run the stand-in until interrupted.

Every flag can also come from the environment, so `make demo` and CI need no arguments.
"""

import argparse
import logging
import os
import signal
import sys

from . import config
from .server import App


def parse_args(argv=None) -> config.Settings:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m stripe_standin", description=__doc__)
    parser.add_argument("--host", default=env("STANDIN_HOST", config.DEFAULT_HOST))
    parser.add_argument(
        "--port",
        type=int,
        default=int(env("STANDIN_PORT", config.DEFAULT_PORT)),
        help="0 picks a free port (the listening line says which)",
    )
    parser.add_argument("--api-key", default=env("STRIPE_SECRET_KEY", config.DEFAULT_API_KEY))
    parser.add_argument("--webhook-url", default=env("STANDIN_WEBHOOK_URL", ""))
    parser.add_argument("--webhook-secret", default=env("STRIPE_WEBHOOK_SECRET", config.DEFAULT_WEBHOOK_SECRET))
    parser.add_argument(
        "--public-url",
        default=env("STANDIN_PUBLIC_URL", ""),
        help="base URL browsers use for the pay page (default: http://HOST:PORT)",
    )
    parser.add_argument(
        "--api-version", default=env("STANDIN_API_VERSION", "") or config.installed_stripe_api_version()
    )
    parser.add_argument(
        "--enabled-events",
        default=env("STANDIN_ENABLED_EVENTS", ",".join(config.DEFAULT_ENABLED_EVENTS)),
        help="comma-separated event types to deliver, or *",
    )
    parser.add_argument("--merchant-name", default=env("STANDIN_MERCHANT_NAME", config.DEFAULT_MERCHANT_NAME))
    parser.add_argument("--webhook-max-attempts", type=int, default=int(env("STANDIN_WEBHOOK_MAX_ATTEMPTS", 4)))
    parser.add_argument("--webhook-retry-seconds", type=float, default=float(env("STANDIN_WEBHOOK_RETRY_SECONDS", 0.5)))
    parser.add_argument("--verbose", action="store_true", default=bool(env("STANDIN_VERBOSE")))
    args = parser.parse_args(argv)
    return config.Settings(
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
        public_url=args.public_url,
        api_version=args.api_version,
        enabled_events=tuple(e.strip() for e in args.enabled_events.split(",") if e.strip()),
        merchant_name=args.merchant_name,
        webhook_max_attempts=args.webhook_max_attempts,
        webhook_retry_seconds=args.webhook_retry_seconds,
        verbose=args.verbose,
    )


def _interrupt(signum, frame):
    """SIGTERM (from a test harness or `make`) stops as cleanly as Ctrl-C."""
    raise KeyboardInterrupt


def main(argv=None) -> None:
    settings = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if settings.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    app = App(settings)
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"stripe stand-in listening on {app.url}", flush=True)
    try:
        app.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        app.httpd.server_close()


if __name__ == "__main__":
    main()
