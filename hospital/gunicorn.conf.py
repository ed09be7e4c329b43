"""gunicorn's settings for production: `gunicorn -c hospital/gunicorn.conf.py hospital.wsgi`.

Not at the project root on purpose: gunicorn reads a ./gunicorn.conf.py by itself, and the demo's
and the benchmark's servers must not pick these up unasked. Every value comes from the
environment (or the site's .env, read the same way as the settings) with a default fit for one
machine behind a TLS proxy; .env.example lists them under "App server".
"""

import math
import multiprocessing
from pathlib import Path

import environ

environ.Env.read_env(Path(__file__).resolve().parent.parent / ".env", overwrite=False)
env = environ.Env()

# Only the TLS proxy should reach the app server: Django believes the X-Forwarded-Proto header
# (SECURE_PROXY_SSL_HEADER) from whoever connects. Several machines: bind a private address.
bind = env.list("GUNICORN_BIND", default=["127.0.0.1:8000"])

# Threads, not only processes: a booking waits on Stripe (up to STRIPE_REQUEST_BUDGET_SECONDS), and
# a thread that waits on the network lets the process serve other requests meanwhile. Not gevent or
# eventlet: monkey-patching psycopg and stripe-python's HTTP client is a risk for no gain here.
worker_class = "gthread"
threads = env.int("GUNICORN_THREADS", default=4)
# The usual 2 x cores + 1 processes, capped: each thread keeps a PostgreSQL connection open
# (DATABASE_CONN_MAX_AGE), so workers x threads x app servers, plus the task workers, must stay
# under the server's max_connections (100 by default).
workers = env.int("GUNICORN_WORKERS", default=min(2 * multiprocessing.cpu_count() + 1, 8))

# A gthread worker's main loop reports in every second whatever its threads are doing, so this
# only catches a wedged process (a C extension holding the GIL), not a slow request: the app
# bounds its own waits (Stripe budget, EMAIL_TIMEOUT, the SQLite busy timeout). On a restart
# (SIGTERM, SIGHUP) a request under way gets graceful_timeout to finish: a booking's Stripe calls
# plus the slowest page (a prescription PDF or the money dashboard, a few seconds) fit in it.
_stripe_budget = math.ceil(env.float("STRIPE_REQUEST_BUDGET_SECONDS", default=8.0))
timeout = env.int("GUNICORN_TIMEOUT", default=_stripe_budget + 30)
graceful_timeout = env.int("GUNICORN_GRACEFUL_TIMEOUT", default=_stripe_budget + 20)
# Seconds an idle connection from the proxy is kept. A proxy that reuses upstream connections
# must drop them before gunicorn does, or a request sent as gunicorn hangs up gets a 502.
keepalive = env.int("GUNICORN_KEEPALIVE", default=5)

# Each process is replaced after about this many requests (0: never), so memory a long-lived
# process slowly gathers (PDF rendering, big querysets) is given back; the jitter keeps the
# workers from all restarting at once.
max_requests = env.int("GUNICORN_MAX_REQUESTS", default=1000)
max_requests_jitter = env.int("GUNICORN_MAX_REQUESTS_JITTER", default=100)

# Addresses whose X-Forwarded-* headers gunicorn believes, for its own idea of the scheme
# (wsgi.url_scheme); list the proxy's address when it runs on another machine.
forwarded_allow_ips = env.str("GUNICORN_FORWARDED_ALLOW_IPS", default="127.0.0.1,::1")

# No preload: each worker imports the app itself, so `kill -HUP` (systemctl reload) starts workers
# on the newly deployed code with no connection dropped; with preload the master would keep the
# old code until a full restart. The cost is a second or two of start-up per worker.
preload_app = False

# gunicorn 25+ opens a control socket at one fixed path per user by default; a second app server
# on the same machine would take it over. Nothing here uses gunicornc: signals manage the server.
control_socket_disable = True

# Access log on stdout, error log on stderr (the service manager keeps both). The request's time
# in milliseconds, and the X-Request-ID the site answers with ("-" when there is none).
accesslog = "-"
errorlog = "-"
loglevel = env.str("GUNICORN_LOG_LEVEL", default="info")
access_log_format = '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms "%(f)s" "%(a)s" request_id=%({x-request-id}o)s'
