from django.conf import settings
from django.core.management.base import BaseCommand

from hospital.services import slots_generate_for_all_doctors


class Command(BaseCommand):
    help = "Bring every doctor's bookable slots in line with their working hours and time off."

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=settings.SLOT_HORIZON_DAYS,
            help="How many days ahead to fill (default %(default)s).",
        )

    def handle(self, *args, days, **options):
        result = slots_generate_for_all_doctors(days=days)
        self.stdout.write(f"Slots for the next {days} days: {result.created} created, {result.removed} removed.")
