from django.apps import AppConfig


class PrescriptionsConfig(AppConfig):
    name = "prescriptions"

    def ready(self):
        from django.db.models.signals import post_migrate

        from prescriptions.immutability import install_immutability_triggers

        post_migrate.connect(install_immutability_triggers, sender=self)
