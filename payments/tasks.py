from django_tasks import task

from payments import services


@task(queue_name="refunds")  # its own worker: see TASKS in hospital/settings.py
def refund_issue(refund_id: int) -> None:
    services.refund_issue(refund_id=refund_id)
