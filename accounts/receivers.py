"""A user's API tokens end when their password changes or their account is deactivated, by
whatever route (profile page, password reset, the admin, a shell): the check runs on save."""

from django.db.models.signals import pre_save
from django.dispatch import receiver

from accounts.models import User


@receiver(pre_save, sender=User, dispatch_uid="accounts.revoke_api_tokens")
def revoke_api_tokens(sender, instance: User, update_fields=None, raw=False, **kwargs):
    if raw or instance.pk is None:
        return
    if update_fields is not None and not {"password", "is_active"} & set(update_fields):
        return  # e.g. the last_login stamp written at each log-in
    before = User.objects.filter(pk=instance.pk).values("password", "is_active").first()
    if before is None:
        return
    if before["password"] != instance.password or (before["is_active"] and not instance.is_active):
        instance.auth_token_set.all().delete()
