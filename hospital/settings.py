"""Settings for the hospital site, read from the environment (see .env.example).

Defaults give a safe production baseline; the demo and the tests opt into the
convenient parts (DEBUG, console e-mail) through their own environment.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)

if DEBUG:
    # Only ever used on a developer's machine; production must set its own key.
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="insecure-dev-key-never-used-in-production")
else:
    # Empty when unset, so commands that sign nothing (makemigrations, check) still run; the web
    # server refuses to start without a key (hospital/wsgi.py) and Django refuses to sign with none.
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "hospital.admin_site.HospitalAdminConfig",  # django.contrib.admin, with our site (admin_site.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's and ReDoc's files, served as our own static files
    "djstripe",
    "django_tasks",
    "django_tasks_db",
    "accounts",
    "hospital.apps.HospitalConfig",
    "appointments",
    "payments",
    "prescriptions",
]

MIDDLEWARE = [
    # First, so every log line and every answer (errors included) carries the request's id.
    "hospital.request_id.RequestIdMiddleware",
    # Load balancers' probes: answered before the host check, HTTPS redirect and sessions.
    "hospital.health.HealthCheckMiddleware",
    # Then: dj-stripe lets an X-Djstripe-Webhook-Secret header replace the stored webhook secret
    # when DEBUG is on, which would let anyone forge events. No request keeps that header.
    "payments.middleware.StripeWebhookGuardMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # A request that waited too long for SQLite's write lock gets a 503 "busy" page, not a 500.
    "hospital.middleware.DatabaseBusyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Staff and doctors signed out after STAFF_IDLE_LOGOFF_MINUTES without a request.
    "accounts.idle_logoff.IdleLogoffMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out log-in into its lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "hospital.urls"
WSGI_APPLICATION = "hospital.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "hospital.context_processors.site",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# The default is a local SQLite file tuned for concurrent writers: WAL lets pages read while a
# webhook writes, IMMEDIATE takes the write lock at BEGIN (no deadlock-prone lock upgrades) and
# the busy timeout makes a second writer wait instead of failing with "database is locked".
# SQLite is the demo's database; production runs PostgreSQL.
(BASE_DIR / "var").mkdir(exist_ok=True)
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        # A patient should not wait long for the lock (a webhook's slow Stripe re-fetch can hold it
        # for longer than anyone would wait): after 5 s the page says "busy, try again"
        # (hospital.middleware). Workers, which nobody watches, may be given longer (demo: 30 s).
        "timeout": env.float("SQLITE_BUSY_TIMEOUT_SECONDS", default=5.0),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Django's default SQLite test database is a shared-cache in-memory one, where concurrent
    # writers fail at once ("database table is locked"); a file behaves like production.
    DATABASES["default"]["TEST"] = {"NAME": env.str("SQLITE_TEST_NAME", default=str(BASE_DIR / "var" / "test.sqlite3"))}
# Connections kept between requests: opening one costs more than a cached page (SQLite: ~1.5 ms
# for the file, its pragmas and Django's SQL functions; PostgreSQL: a TCP and auth round trip).
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # redis-py waits for ever by default: a Redis that hangs would hang every page with it. After
    # this long a call gives up: the page carries on without the cache (hospital/cache_outage.py)
    # and /healthz says "cache". A page makes a few cache calls (its session, a fragment, a rate
    # limit), so this bounds what a hanging Redis adds to it; a Redis that works answers in well
    # under a millisecond. redis-py 8 retries no call on these connections (no `retry` given).
    CACHES["default"].setdefault("OPTIONS", {}).update(
        socket_connect_timeout=env.float("CACHE_TIMEOUT_SECONDS", default=0.5),
        socket_timeout=env.float("CACHE_TIMEOUT_SECONDS", default=0.5),
    )
# Fragments of the public pages kept in that cache (hospital/page_cache.py); never stale, so on by
# default. Entries also expire after this many seconds, which only bounds the memory they use.
PUBLIC_PAGE_CACHE = env.bool("PUBLIC_PAGE_CACHE", default=True)
PUBLIC_PAGE_CACHE_MAX_SECONDS = env.int("PUBLIC_PAGE_CACHE_MAX_SECONDS", default=600)

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First, so a locked-out e-mail/IP pair is refused before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "hospital:home"
LOGOUT_REDIRECT_URL = "hospital:home"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24

# Brute-force protection: 5 failed log-ins for one e-mail from one IP lock that pair out. Failures
# and lock-outs are rows in the database, not cache entries, so the lock-out holds while Redis is
# down and the cache's rate limits let everything through (hospital/ratelimit.py).
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = 5
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_USERNAME_CALLABLE = "accounts.authentication.axes_username"
AXES_VERBOSE = False

# --- Rate limits and the client address -------------------------------------------------------
# How many reverse proxies (load balancer, TLS terminator) stand in front of the app servers and
# append the caller's address to X-Forwarded-For: 0 (the default) trusts no such header and uses
# the connection's address. Rate limits, the log-in lock-out and the audit log all read it
# (hospital.audit.request_ip). Too high a number lets a client choose its own address.
TRUSTED_PROXY_COUNT = env.int("DJANGO_TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "hospital.audit.request_ip"
# Posts per hour to the account forms (hospital/account_limits.py), in the shared cache. Per
# address high enough for a family or an office behind one NAT; log-in also per e-mail address
# (page and API together), against guesses spread over many addresses. Over a limit: a 429 page
# with Retry-After, and the form is not processed.
LOGIN_RATE_LIMIT_PER_HOUR_PER_ADDRESS = env.int("LOGIN_RATE_LIMIT_PER_HOUR_PER_ADDRESS", default=100)
LOGIN_RATE_LIMIT_PER_HOUR_PER_EMAIL = env.int("LOGIN_RATE_LIMIT_PER_HOUR_PER_EMAIL", default=20)
SIGNUP_RATE_LIMIT_PER_HOUR_PER_ADDRESS = env.int("SIGNUP_RATE_LIMIT_PER_HOUR_PER_ADDRESS", default=20)
PASSWORD_RESET_RATE_LIMIT_PER_HOUR_PER_ADDRESS = env.int("PASSWORD_RESET_RATE_LIMIT_PER_HOUR_PER_ADDRESS", default=20)

# --- Sessions ----------------------------------------------------------------------------------
# Staff and doctors: signed out after this many minutes without a request (each request slides
# it), their cookie ending with the browser (accounts/idle_logoff.py). Patients stay signed in
# for PATIENT_SESSION_DAYS after their last change of session (Django's two weeks by default).
STAFF_IDLE_LOGOFF_MINUTES = env.int("STAFF_IDLE_LOGOFF_MINUTES", default=15)
SESSION_COOKIE_AGE = 60 * 60 * 24 * env.int("PATIENT_SESSION_DAYS", default=14)
# With a shared cache (CACHE_URL=redis://...) sessions are read from it, so every app server
# knows every session; "cached_db" rather than "cache" because a Redis that keeps nothing on disk
# loses all its keys when it restarts, and sometimes evicts keys when full: each session is kept in
# the database too, and read from there when the cache has lost it (no one is signed out). Ours
# (hospital/sessions.py) also carries on while Redis is down, and a log-out then still ends the
# session for good. With the in-process cache (per process: no other server would see the
# session) they stay in the database.
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    SESSION_ENGINE = "hospital.sessions"

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- E-mail ---------------------------------------------------------------------------------
vars().update(env.email("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Northbridge Hospital <no-reply@hospital.test>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Seconds an SMTP connection may wait for the server (Django's default is for ever): a server that
# accepts and never answers would otherwise hold a worker, and its e-mail, indefinitely.
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=10.0)
# The site's own address, for the links in e-mails (a worker has no request to build them from).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# --- Product settings -----------------------------------------------------------------------
HOSPITAL_NAME = env.str("HOSPITAL_NAME", default="Northbridge Hospital")
# Where the hospital is (an IANA name): a new patient's zone when their browser does not say theirs.
HOSPITAL_TIME_ZONE = env.str("HOSPITAL_TIME_ZONE", default="Europe/London")
SLOT_HORIZON_DAYS = env.int("SLOT_HORIZON_DAYS", default=28)

# --- Two-factor log-in -----------------------------------------------------------------------
# Staff and doctors confirm every log-in with a code from an authenticator app (TOTP, django-otp;
# accounts/two_factor.py). OTPMiddleware marks the session's user verified; ours, right after it,
# sends an unverified staff member or doctor to the code (or set-up) page from every other page.
INSTALLED_APPS += ["django_otp", "django_otp.plugins.otp_totp"]
MIDDLEWARE[MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1 : 0] = [
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.SecondFactorMiddleware",
]
# The name the authenticator app lists the account under, beside the user's e-mail address.
OTP_TOTP_ISSUER = HOSPITAL_NAME
# After n wrong codes in a row the next try waits FACTOR × 2^(n-1) seconds (1, 2, 4, … 512 s after 10).
OTP_TOTP_THROTTLE_FACTOR = env.int("TOTP_THROTTLE_FACTOR", default=1)

# --- Booking and payment ----------------------------------------------------------------------
# Stripe wants a Checkout Session's expires_at 30 min to 24 h after it receives the request; the
# 5 extra minutes absorb the time between our booking and Stripe's clock. The hold outlives the
# session by a grace period so a payment finished in the last second still finds its hold.
CHECKOUT_SESSION_MINUTES = env.int("CHECKOUT_SESSION_MINUTES", default=35)
HOLD_GRACE_MINUTES = env.int("HOLD_GRACE_MINUTES", default=5)
# "Resume payment" extends a hold with a fresh session, but never beyond this from booking.
HOLD_MAX_MINUTES = env.int("HOLD_MAX_MINUTES", default=120)
MAX_UNPAID_HOLDS = env.int("MAX_UNPAID_HOLDS", default=3)
# Online booking of a slot closes this long before it starts, so a hold (session + grace) always
# ends before the visit; payments.checks refuses to start with less than CHECKOUT + GRACE.
BOOKING_CLOSES_MINUTES_BEFORE_START = env.int("BOOKING_CLOSES_MINUTES_BEFORE_START", default=60)
# Booking attempts per patient per hour (each one may create a Stripe Checkout Session).
BOOKING_RATE_LIMIT_PER_HOUR = env.int("BOOKING_RATE_LIMIT_PER_HOUR", default=60)

# Checks per address per hour on the public prescription verification page: enough for a
# pharmacy's counter, far too few to guess a code.
PRESCRIPTION_VERIFY_RATE_LIMIT_PER_HOUR = env.int("PRESCRIPTION_VERIFY_RATE_LIMIT_PER_HOUR", default=60)

# --- Video visits -----------------------------------------------------------------------------
# Where video visits take place, e.g. https://meet.example.org for a self-hosted Jitsi Meet: a
# video visit's link is VIDEO_BASE_URL/<its random room name>, shown to the patient and the doctor
# from 10 minutes before the start. Empty: no link is shown, and pages say the hospital sends
# the details to join.
VIDEO_BASE_URL = env.str("VIDEO_BASE_URL", default="").rstrip("/")

# --- Stripe (dj-stripe) ---------------------------------------------------------------------
# Empty key: the demo's local Stripe stand-in (scripts/demo.sh starts it and sets these).
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_LIVE_MODE = STRIPE_SECRET_KEY.startswith(("sk_live_", "rk_live_"))
if STRIPE_LIVE_MODE:
    STRIPE_LIVE_SECRET_KEY = STRIPE_SECRET_KEY
else:
    STRIPE_TEST_SECRET_KEY = STRIPE_SECRET_KEY
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# The webhook URL is /stripe/webhook/<this uuid>/; `manage.py stripe_webhook_setup` stores it.
STRIPE_WEBHOOK_UUID = env.str("STRIPE_WEBHOOK_UUID", default="6a1f3c52-0d4e-4b8e-9a57-3f0c2e7d9b10")
# Only the stand-in sets a base URL. dj-stripe copies this to stripe.api_base when it loads, and
# its deploy check warns whenever the setting exists, so it is defined only when it has a value.
if env.str("STRIPE_API_BASE", default=""):
    STRIPE_API_HOST = env.str("STRIPE_API_BASE")
# Stripe calls sit inside requests (and dj-stripe's webhook re-fetch inside a transaction):
# fail fast instead of stripe-python's 80 s and 2 retries.
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=5.0)
STRIPE_MAX_NETWORK_RETRIES = 1
# All the Stripe calls of one page request together (a first booking's customer and session)
# give up after this long, so a slow Stripe shows "try again" instead of a 15-30 s wait.
STRIPE_REQUEST_BUDGET_SECONDS = env.float("STRIPE_REQUEST_BUDGET_SECONDS", default=8.0)
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
# Webhook bodies larger than this are refused before dj-stripe stores them (Stripe's are < 100 KB).
STRIPE_WEBHOOK_MAX_BYTES = 256 * 1024

# --- Background tasks -----------------------------------------------------------------------
# django-tasks' database backend: a task enqueued inside a transaction exists exactly when that
# transaction commits. `manage.py db_worker` runs them; `manage.py sweep_outbox` re-queues what
# failed or was lost (django-tasks-db neither retries nor recovers a killed worker's task).
# Refunds have a queue, and a worker, of their own: money going back never waits behind e-mails
# (whose mail server may be slow or hanging).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "refunds"]}}

# --- Worker crash recovery --------------------------------------------------------------------
# How long one attempt at a refund or an e-mail may take before the worker doing it is presumed
# dead: its claim on the row lapses and `sweep_outbox` marks its task failed and queues the work
# again. Longer than any attempt can take (an e-mail's SMTP timeouts, a refund's Stripe budget).
OUTBOX_CLAIM_SECONDS = env.float("OUTBOX_CLAIM_SECONDS", default=300.0)

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # HSTS preload is left off on purpose: once a domain is on browsers' preload lists it takes
    # months to undo, so that is a decision for the hospital's operators, not a default.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]

# The header a TLS-terminating proxy in front of the site sets to say the visitor came over HTTPS,
# e.g. X-Forwarded-Proto (its value must then be "https"). Empty: no proxy, only the connection
# itself counts. Name it only when every request passes through that proxy and the proxy
# overwrites the header: otherwise a client could claim HTTPS by sending it.
if _proxy_ssl_header := env.str("DJANGO_SECURE_PROXY_SSL_HEADER", default=""):
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")

# No inline script anywhere (the API docs pages included: their set-up script is a file of its
# own). Styles may be inline: Swagger UI and ReDoc set style attributes and <style> tags as they
# render, and many of our templates carry a style attribute.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        # Swagger UI draws its icons as data: images; ReDoc runs its search in a blob: worker.
        "img-src": ["'self'", "data:"],
        "worker-src": ["'self'", "blob:"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- REST API (/api/v1/, hospital/api/) -------------------------------------------------------
REST_FRAMEWORK = {
    # Tokens first: an anonymous call is then answered 401 with a WWW-Authenticate header, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "hospital.api.authentication.ApiTokenAuthentication",
        "hospital.api.authentication.BrowserSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "hospital.api.pagination.PageNumberPagination",
    "DEFAULT_THROTTLE_CLASSES": ["hospital.api.throttling.PerUser", "hospital.api.throttling.PerAddress"],
    "DEFAULT_SCHEMA_CLASS": "hospital.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "hospital.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DATETIME_FORMAT": "iso-8601",
}
# Requests per window for each throttle scope (hospital/api/throttling.py). Log-in shares the log-in
# page's LOGIN_RATE_LIMIT_* and counters, booking the page's BOOKING_RATE_LIMIT_PER_HOUR and its.
API_THROTTLE_RATES = {
    "user": env.str("API_RATE_PER_USER", default="600/min"),
    "address": env.str("API_RATE_PER_ADDRESS", default="1200/min"),
}
# How long a booking's Idempotency-Key is kept (and replayed) for the user who sent it.
API_IDEMPOTENCY_HOURS = 24
KNOX_TOKEN_MODEL = "accounts.ApiToken"  # noqa: S105 (a model name)
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=env.int("API_TOKEN_DAYS", default=90)),
    "AUTH_HEADER_PREFIX": "Bearer",
    # A client's token is readable at a glance in logs and secret scanners.
    "TOKEN_PREFIX": "nbh_",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Northbridge Hospital API",
    "DESCRIPTION": (
        "Find a doctor, book and pay, cancel or move a visit; the doctor's day and prescriptions; "
        "payments, receipts and refunds. Version 1. Times are ISO 8601 with the offset of the "
        "doctor's time zone, which each object names (`time_zone`). Money is an integer in minor "
        "units with its ISO currency. Every error has the shape "
        '`{"error": {"code": ..., "message": ..., "fields": {...}}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    # Each operation shows its own request and response shapes; the page need not list them all again.
    "SWAGGER_UI_SETTINGS": {"defaultModelsExpandDepth": -1},
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "PaymentStatusEnum": "payments.models.PaymentStatus",
        "RefundStatusEnum": "payments.models.RefundStatus",
        "CurrencyEnum": "hospital.models.Currency",
        "AppointmentStatusEnum": "appointments.models.AppointmentStatus",
    },
}

# --- Logs and health -----------------------------------------------------------------------
# One JSON object per line (hospital/json_log.py) for a log collector, or plain text for a person
# at a console: JSON unless DEBUG is on. Every line carries the request's id (X-Request-ID, also
# on error pages) or, in a worker, its task's id.
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or text, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "hospital.log_context.LogContextFilter"}},
    "formatters": {
        "json": {"()": "hospital.json_log.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["context"], "formatter": LOG_FORMAT},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # stripe-python logs every request at INFO; its warnings and errors are what matter.
    # WeasyPrint logs each step of every PDF at INFO.
    "loggers": {"stripe": {"level": "WARNING"}, "weasyprint": {"level": "WARNING"}, "fontTools": {"level": "WARNING"}},
}
# /healthz (hospital/health.py): the database must answer within this many milliseconds
# (PostgreSQL), and a task ready to run for longer than this many minutes means no worker takes it.
HEALTH_DATABASE_TIMEOUT_MS = env.int("HEALTH_DATABASE_TIMEOUT_MS", default=2000)
HEALTH_TASKS_STUCK_MINUTES = env.int("HEALTH_TASKS_STUCK_MINUTES", default=10)
