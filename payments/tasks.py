from django_tasks import task

from payments import services


@task(queue_name="refunds")  # its own worker: see TASKS in hospital/settings.py
def refund_issue(refund_id: int) -> None:
    services.refund_issue(refund_id=refund_id)


@task()
def checkout_session_close(closing_id: int) -> None:
    services.session_close(closing_id=closing_id)
