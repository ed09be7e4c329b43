"""GET /healthz for load balancers (issue 13): 200 when the database, the cache and the task queue
answer; 503 when this server's database fails, but 200 "degraded" naming the cache or the task
queue when only those (shared by every server) fail, so a balancer does not stop the whole site
for them; `?strict` (monitoring) is 503 for any failure. Cheap (no session, no database write)
and answered whatever the Host or the scheme."""

import datetime as dt

import pytest
from django.contrib.sessions.models import Session
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

# A port of this helper's range that nothing listens on: a Redis that is down.
REDIS_DOWN_URL = "redis://127.0.0.1:18299/3"
ALL_UP = {"status": "ok", "checks": {"database": "ok", "cache": "ok", "task_queue": "ok"}}


@task()
def waiting_task() -> None:
    pass


def task_enqueued(minutes_ago: int, **kwargs) -> DBTaskResult:
    result = waiting_task.using(**kwargs).enqueue() if kwargs else waiting_task.enqueue()
    DBTaskResult.objects.filter(pk=result.id).update(enqueued_at=timezone.now() - dt.timedelta(minutes=minutes_ago))
    return DBTaskResult.objects.get(pk=result.id)


@pytest.mark.django_db
class TestHealthy:
    def test_all_up_is_200_and_writes_nothing_and_makes_no_session(self, client):
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/healthz")
        assert (response.status_code, response.json()) == (200, ALL_UP)
        assert response["Cache-Control"] == "no-store" and "Set-Cookie" not in response
        assert response["X-Request-ID"]
        written = [q["sql"] for q in queries if q["sql"].split()[0].upper() in ("INSERT", "UPDATE", "DELETE")]
        assert written == []
        assert Session.objects.count() == 0

    def test_a_probe_over_plain_http_with_the_balancers_own_host_is_answered(self, client, settings):
        settings.SECURE_SSL_REDIRECT = True
        settings.ALLOWED_HOSTS = ["hospital.example.org"]
        response = client.get("/healthz", headers={"Host": "10.0.0.7:8000"})
        assert (response.status_code, response.json()) == (200, ALL_UP)
        # Every other page still redirects, and refuses that host.
        assert client.get("/", headers={"Host": "hospital.example.org"}).status_code == 301
        assert client.get("/", headers={"Host": "10.0.0.7:8000"}).status_code == 400

    def test_tasks_recently_queued_scheduled_for_later_or_running_are_no_fault(self, client):
        task_enqueued(minutes_ago=9)
        later = task_enqueued(minutes_ago=30, run_after=timezone.now() + dt.timedelta(hours=1))
        DBTaskResult.objects.filter(pk=task_enqueued(minutes_ago=60).pk).update(status="RUNNING")
        assert later.status == "READY"
        assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
class TestFailing:
    def test_the_cache_down_keeps_the_server_in_rotation_and_names_it_and_strict_is_503(self, client, settings):
        settings.CACHES = {
            "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_DOWN_URL}
        }
        response = client.get("/healthz")
        assert response.status_code == 200
        assert response.json() == {
            "status": "degraded",
            "failing": ["cache"],
            "checks": {"database": "ok", "cache": "failing: unreachable (ConnectionError)", "task_queue": "ok"},
        }
        assert "18299" not in response.content.decode()
        strict = client.get("/healthz?strict")
        assert (strict.status_code, strict.json()["failing"]) == (503, ["cache"])

    def test_a_task_no_worker_took_for_longer_than_the_limit_is_named_with_its_time(self, client, settings):
        task_enqueued(minutes_ago=11)
        oldest = task_enqueued(minutes_ago=12, queue_name="refunds").enqueued_at
        response = client.get("/healthz")
        assert response.status_code == 200
        body = response.json()
        assert (body["status"], body["failing"]) == ("degraded", ["task_queue"])
        assert body["checks"]["task_queue"] == (
            f"failing: tasks waiting since {oldest.isoformat(timespec='seconds')} (queue refunds)"
        )
        assert client.get("/healthz?strict").status_code == 503
        settings.HEALTH_TASKS_STUCK_MINUTES = 15
        assert client.get("/healthz?strict").status_code == 200

    def test_a_broken_database_connection_is_503_without_its_details(self, client, monkeypatch):
        def broken(self, sql, params=None):
            raise OperationalError("server closed the connection unexpectedly (db.internal:5432)")

        monkeypatch.setattr("django.db.backends.utils.CursorWrapper.execute", broken)
        response = client.get("/healthz")
        assert response.status_code == 503
        body = response.json()
        assert (body["status"], body["failing"]) == ("failing", ["database", "task_queue"])
        assert body["checks"]["database"] == "failing: unreachable (OperationalError)"
        assert "db.internal" not in response.content.decode()


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_database_connection_cut_by_the_server_is_503_then_recovers(client):
    """The server ends our connection (as a restart or a failover would): the probe says so, and
    the next probe, on a new connection, is healthy again."""
    import psycopg

    connection.ensure_connection()
    our_backend = connection.connection.info.backend_pid
    params = connection.get_connection_params()
    with psycopg.connect(
        **{k: v for k, v in params.items() if k in ("host", "port", "user", "password", "dbname")},
        connect_timeout=5,
        autocommit=True,
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [our_backend])
    try:
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.json()["checks"]["database"].startswith("failing: unreachable (")
    finally:
        connection.close()
    assert client.get("/healthz").status_code == 200


@pytest.mark.postgres_only
@pytest.mark.django_db
def test_a_database_too_slow_to_answer_is_503(client, settings, monkeypatch):
    settings.HEALTH_DATABASE_TIMEOUT_MS = 50
    monkeypatch.setattr("hospital.health.HEALTH_QUERY", "SELECT pg_sleep(2)")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "failing: unreachable (OperationalError)"
