from django.apps import AppConfig


class HospitalConfig(AppConfig):
    name = "hospital"
    verbose_name = "Hospital: doctors and schedules"

    def ready(self):
        from hospital import notifications, outbox, tasks
        from hospital.models import OutboundEmail

        outbox.register(model=OutboundEmail, pending=notifications.EMAIL_PENDING, enqueue=tasks.email_deliver.enqueue)
