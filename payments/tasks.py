from django_tasks import task

from payments import services


@task(queue_name="refunds")  # its own worker: see TASKS in hospital/settings.py
def refund_issue(refund_id: int) -> None:
    services.refund_issue(refund_id=refund_id)


@task(queue_name="refunds")  # a Stripe call, like refund_issue: kept off the default queue's e-mails
def charge_refunds_sync(sync_id: int) -> None:
    services.charge_refunds_sync(sync_id=sync_id)


@task()
def checkout_session_close(closing_id: int) -> None:
    services.session_close(closing_id=closing_id)
