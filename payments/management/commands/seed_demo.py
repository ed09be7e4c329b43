from django.core.management.base import BaseCommand

from hospital.demo import DEMO_PASSWORD, demo_seed
from payments.demo import demo_visits_seed
from payments.demo_history import demo_history_seed
from prescriptions.demo import demo_prescriptions_seed


class Command(BaseCommand):
    # In payments, the top of the apps: today's demo visits are appointments with their payments.
    # A command is an entry point, like a view: it may call the prescriptions app beside payments.
    help = (
        "Create or refresh the demo data (specialties, doctors, patients, a staff superuser) and give "
        "each doctor today's visits (completed, in progress and confirmed, all paid, with notes, ratings and "
        "a prescription) if they have none today; the first time, six months of paid visits with refunds, "
        "a dispute, receipts and credit notes, and visits to come."
    )

    def handle(self, *args, **options):
        logins = demo_seed()
        history = demo_history_seed()  # before today's visits: receipts are numbered in the order paid
        visits = demo_visits_seed()
        prescriptions = demo_prescriptions_seed()
        self.stdout.write(self.style.SUCCESS("Demo data is ready. Log in with any of these accounts:"))
        for login in logins:
            self.stdout.write(f"  {login.role:<14} {login.email:<32} {login.name}")
        self.stdout.write(f"  password for every demo account: {DEMO_PASSWORD}")
        self.stdout.write("  staff and doctors also enter a code: manage.py demo_totp_code EMAIL prints it")
        self.stdout.write(f"Past and upcoming visits with their money history added: {history}.")
        self.stdout.write(f"Today's visits added: {visits} (doctors who had visits today kept theirs).")
        self.stdout.write(f"Prescriptions issued: {prescriptions}.")
