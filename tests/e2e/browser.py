"""How this project starts Debian's Chromium under Playwright (tests and README screenshots)."""

import os
from pathlib import Path

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# No internet here: these stop Chromium's own background traffic, which would otherwise fail.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch_chromium(playwright):
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"No Chromium at {CHROMIUM}: run the README's test command, which installs it.")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
