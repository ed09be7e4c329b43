from django_tasks import task

from payments import services


@task()
def refund_issue(refund_id: int) -> None:
    services.refund_issue(refund_id=refund_id)
