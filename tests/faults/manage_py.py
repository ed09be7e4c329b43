"""`manage.py` commands as separate processes against the test database, for tests that kill one.

The processes run the production settings (hospital.settings) with the test's database, so a
test must be transactional (its rows committed) for them to see anything."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

MANAGE_PY = Path(settings.BASE_DIR) / "manage.py"


def this_database_url() -> str:
    """DATABASE_URL of the database this test runs on (pytest-django's test database)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = quote(db["USER"] or "", safe="") + (f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else "")
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{user}@{db['HOST'] or '127.0.0.1'}{port}/{db['NAME']}"


class ManagePy:
    """Starts `manage.py` commands with one environment and kills whatever still runs at `close`."""

    def __init__(self, log_dir: Path, **environment: str):
        self.log_dir = log_dir
        self.environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "hospital.settings",
            "DJANGO_SECRET_KEY": "test-only-secret-key",
            "DATABASE_URL": this_database_url(),
            "DATABASE_CONN_MAX_AGE": "0",
            **environment,
        }
        self.started: list[subprocess.Popen] = []

    def start(self, name: str, *args: str) -> subprocess.Popen:
        """The command running in the background; its output goes to `<log_dir>/<name>.log`."""
        log = (self.log_dir / f"{name}.log").open("wb")
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, str(MANAGE_PY), *args], env=self.environment, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()  # the child has its own copy
        self.started.append(process)
        return process

    def run(self, name: str, *args: str, timeout: float = 30) -> str:
        """Run the command to its end (exit status 0 asserted) and return its output."""
        process = self.start(name, *args)
        assert process.wait(timeout=timeout) == 0, self.log(name)
        return self.log(name)

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")

    def close(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
