from django_tasks import task

from hospital import notifications


@task()
def email_deliver(email_id: int) -> None:
    notifications.email_deliver(email_id=email_id)
