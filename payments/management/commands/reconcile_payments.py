from django.core.management.base import BaseCommand, CommandError

from payments.services import payments_drift_repair
from payments.services.drift import DEFAULT_DAYS

DEFAULT_BUDGET_SECONDS = 300


class Command(BaseCommand):
    help = (
        "Compare payments with Stripe's own checkout sessions, charges, refunds and disputes (never its "
        "event list, which keeps 30 days) and repair what drifted: payments made but never told, refunds "
        "made in the Dashboard, refund statuses that moved, holds past expiry, refunds stuck unissued. "
        "Safe to run again: a second run finds nothing to change. Exits non-zero when a person is needed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=DEFAULT_DAYS,
            help=f"Check payments booked or captured in the last N days (default {DEFAULT_DAYS}); unsettled "
            "refunds and lapsed holds are checked whatever their age.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; change nothing.")
        parser.add_argument(
            "--budget",
            type=float,
            default=DEFAULT_BUDGET_SECONDS,
            help=f"Seconds all Stripe calls of the run may take together (default {DEFAULT_BUDGET_SECONDS}).",
        )

    def handle(self, *args, days, dry_run, budget, **options):
        if days < 1 or budget <= 0:
            raise CommandError("--days and --budget must be positive.")
        report = payments_drift_repair(days=days, dry_run=dry_run, budget_seconds=budget)
        for line in report.changes:
            self.stdout.write(f"Would change: {line}" if dry_run else line)
        if options["verbosity"] > 0:  # cron runs it with -v 0: output only when something changed or failed
            self.stdout.write(self._summary(report))
        for line in report.problems:
            self.stderr.write(f"Needs a person: {line}")
        if report.stopped:
            raise CommandError(report.stopped)
        if report.problems:
            raise CommandError(f"{len(report.problems)} disagreement(s) with Stripe need a person (listed above).")

    @staticmethod
    def _summary(report) -> str:
        of_all = f" of {report.to_check}" if report.stopped else ""
        checked, changes = f"{report.checked}{of_all} payment(s) checked against Stripe", len(report.changes)
        if not changes:
            return f"No changes: {checked}."
        if report.dry_run:
            return f"Dry run, nothing changed: a real run would make the {changes} change(s) above ({checked})."
        return f"{changes} change(s) made ({checked}); billing staff were sent a summary."
