from django.core.management.base import BaseCommand

from appointments.emails import visit_headline
from appointments.services import appointment_reminders_queue


class Command(BaseCommand):
    help = (
        "Queue the reminder e-mail of every confirmed visit starting in the next 24 hours (once per "
        "visit; visits booked less than 24 hours ahead are skipped: their confirmation just told "
        "them). Safe to run as often as you like, e.g. every 15 minutes from cron."
    )

    def handle(self, *args, **options):
        reminded = appointment_reminders_queue()
        for appointment in reminded:
            self.stdout.write(f"Reminder queued: booking #{appointment.pk}, {visit_headline(appointment)}")
        self.stdout.write(f"{len(reminded)} reminder(s) queued.")
