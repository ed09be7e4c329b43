from django.core.management.base import BaseCommand

from hospital.demo import DEMO_PASSWORD, demo_seed


class Command(BaseCommand):
    help = "Create or refresh the demo data (specialties, doctors, patients, a staff superuser)."

    def handle(self, *args, **options):
        logins = demo_seed()
        self.stdout.write(self.style.SUCCESS("Demo data is ready. Log in with any of these accounts:"))
        for login in logins:
            self.stdout.write(f"  {login.role:<14} {login.email:<32} {login.name}")
        self.stdout.write(f"  password for every demo account: {DEMO_PASSWORD}")
