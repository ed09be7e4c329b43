from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "appointments"

    def ready(self):
        from django.db.models.signals import post_migrate

        from appointments import checks, email_previews, note_guards, selectors, services  # noqa: F401  (checks register on import)
        from appointments.models import Appointment
        from hospital import outbox, page_cache, slot_holders

        # hospital sits below appointments: it learns which slots are taken through its registry.
        slot_holders.register(
            holding=lambda now: Appointment.objects.holding_slot(now=now),
            booked_between=selectors.visits_booked_between,
            next_release=selectors.next_hold_lapse,
        )
        # A booking, a cancelled hold or a visit's end frees or takes a slot on the public pages.
        page_cache.watch(Appointment)
        outbox.register_tidy_up(name="lapsed hold(s) expired", run=services.appointments_expire_lapsed_holds)
        post_migrate.connect(note_guards.install_note_triggers, sender=self)
        email_previews.register()
