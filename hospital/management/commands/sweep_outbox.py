import time

from django.core.management.base import BaseCommand

from hospital.outbox import lost_tasks_requeue, outbox_sweep, tidy_ups_run


class Command(BaseCommand):
    help = (
        "Re-queue refunds and e-mails whose earlier attempt failed or whose worker died (marking a dead "
        "worker's RUNNING task failed), and run the apps' tidy-ups (e.g. ending lapsed holds). Run it "
        "with --every N next to `manage.py db_worker`."
    )

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, default=0, help="Repeat every N seconds (default: once).")

    def handle(self, *args, every, **options):
        while True:
            lost, queued_lost = lost_tasks_requeue()
            queued = queued_lost + outbox_sweep()
            tidied = tidy_ups_run()
            if lost or queued or any(tidied.values()) or options["verbosity"] > 1:
                done = "".join(f"; {count} {name}" for name, count in tidied.items())
                self.stdout.write(
                    f"Re-queued {queued} side effect(s); {lost} task(s) of a worker that died marked failed{done}."
                )
            if not every:
                return
            time.sleep(every)
