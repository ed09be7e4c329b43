import time

from django.core.management.base import BaseCommand

from appointments.services import appointments_expire_lapsed_holds
from hospital.outbox import outbox_sweep


class Command(BaseCommand):
    help = (
        "Re-queue refunds and e-mails whose earlier attempt failed or whose worker died, and tidy "
        "lapsed holds. Run it with --every N next to `manage.py db_worker`."
    )

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, default=0, help="Repeat every N seconds (default: once).")

    def handle(self, *args, every, **options):
        while True:
            queued = outbox_sweep()
            expired = appointments_expire_lapsed_holds()
            if queued or expired or options["verbosity"] > 1:
                self.stdout.write(f"Re-queued {queued} side effect(s); expired {expired} lapsed hold(s).")
            if not every:
                return
            time.sleep(every)
