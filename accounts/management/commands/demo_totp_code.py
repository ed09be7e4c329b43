import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User, normalize_email_address
from accounts.two_factor import code_at_step, confirmed_device, current_step


class Command(BaseCommand):
    help = (
        "Print the current two-factor code of a demo staff or doctor account, for a reviewer without "
        "an authenticator app. Refuses to run unless DEBUG is on (a demo or a developer's machine)."
    )

    def add_arguments(self, parser):
        parser.add_argument("email", help="The account's e-mail address, e.g. admin@example.com")

    def handle(self, *args, email: str, **options):
        # Anyone who can run this holds every account's second factor: never on a real server.
        if not settings.DEBUG:
            raise CommandError("demo_totp_code only runs with DJANGO_DEBUG=true (the demo); it is off here.")
        user = User.objects.filter(email=normalize_email_address(email)).first()
        if user is None:
            raise CommandError(f"No account has the e-mail address {email}.")
        device = confirmed_device(user)
        if device is None:
            raise CommandError(f"{user.email} has no authenticator app set up (patients need none).")
        now = time.time()
        seconds_left = device.step - int(now - device.t0) % device.step
        self.stdout.write(code_at_step(device, current_step(device, now)))
        self.stderr.write(f"Valid for {seconds_left} more seconds; each code can be used once.")
