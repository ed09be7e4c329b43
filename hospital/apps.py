from django.apps import AppConfig


class HospitalConfig(AppConfig):
    name = "hospital"
    verbose_name = "Hospital: doctors and schedules"

    def ready(self):
        from django.core.signals import request_finished
        from django.db.models.signals import post_migrate
        from django_tasks.signals import task_finished, task_started

        from accounts.models import User
        from hospital import audit, email_previews, log_context, notifications, outbox, page_cache, tasks
        from hospital.models import Doctor, OutboundEmail, Slot, Specialty, TimeOff, WorkingHours

        post_migrate.connect(audit.install_insert_only_trigger, sender=self)
        request_finished.connect(log_context.request_id_end)
        task_started.connect(log_context.task_id_begin)
        task_finished.connect(log_context.task_id_end)
        email_previews.register_accounts_previews()
        outbox.register(model=OutboundEmail, pending=notifications.EMAIL_PENDING, task=tasks.email_deliver)
        # What the public pages show: names, fees, specialties, schedules and slots.
        for model in (Specialty, Doctor, WorkingHours, TimeOff, Slot):
            page_cache.watch(model)
        # Signing in saves the user too; only a name or role change shows on the public pages.
        page_cache.watch(User, ignore_fields=frozenset({"last_login", "password"}))
