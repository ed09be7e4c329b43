from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import post_migrate

        from accounts import checks, idle_logoff, receivers, staff_groups  # noqa: F401  (they register on import)

        post_migrate.connect(staff_groups.staff_groups_apply, sender=self)
        user_logged_in.connect(idle_logoff.idle_clock_start)
