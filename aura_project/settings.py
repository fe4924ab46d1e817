"""Aura Orchestra settings: one module, driven by the environment.

Embedded defaults (SQLite file, filesystem broker, a generated SECRET_KEY) let `make run` start on a fresh
machine. `AURA_ENV=production` turns the defaults that would be unsafe into hard errors.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value in (None, "") else value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean; use true or false")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer") from None


def env_rate(name: str, default: str) -> str:
    """A DRF throttle rate such as 6000/min; a bad one would otherwise surface as a 500 on every call."""
    value = env_str(name, default)
    count, _, period = value.partition("/")
    if not count.isdigit() or not period or period[0] not in "smhd":
        raise ImproperlyConfigured(f"{name}={value!r} is not a rate; use requests/period such as 6000/min")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


AURA_ENV = env_str("AURA_ENV", "development")
if AURA_ENV not in ("development", "production"):
    raise ImproperlyConfigured(f"AURA_ENV={AURA_ENV!r}; use development or production")
PRODUCTION = AURA_ENV == "production"

# Local state for the embedded defaults: the SQLite file, the filesystem broker and the dev secret key.
DATA_DIR = Path(env_str("AURA_DATA_DIR", str(BASE_DIR / ".data")))


def _development_secret_key() -> str:
    """Generate the dev key once and keep it, so sessions survive a restart."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = env_str("SECRET_KEY")
if SECRET_KEY is None:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY is required when AURA_ENV=production")
    SECRET_KEY = _development_secret_key()

DEBUG = env_bool("DEBUG", not PRODUCTION)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is required when AURA_ENV=production")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
if PRODUCTION:
    # `check --deploy` only warns about these; a production process refuses to start with them instead.
    if DEBUG:
        raise ImproperlyConfigured("DEBUG=true is refused when AURA_ENV=production (it shows stack traces)")
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            f"SECRET_KEY has {len(SECRET_KEY)} characters; AURA_ENV=production needs at least 50 "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))')"
        )
    if any("*" in host for host in ALLOWED_HOSTS):
        raise ImproperlyConfigured(
            "ALLOWED_HOSTS has a wildcard (*), refused when AURA_ENV=production; name the hosts "
            "(a leading dot, .example.com, still matches a domain's subdomains)"
        )

INSTALLED_APPS = [
    # django-unfold styles the admin (the Director's control room); it must come before django.contrib.admin.
    "unfold",
    "unfold.contrib.filters",
    "unfold.contrib.forms",
    "unfold.contrib.simple_history",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_api_key",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "axes",
    "workforce",
    "governance",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "aura_project.middleware.ApiDebugErrorsMiddleware",
    "aura_project.middleware.BodySizeLimitMiddleware",
    "aura_project.middleware.ApiSlashMiddleware",
    "aura_project.middleware.ApiTextGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a refused login into the lockout page (AXES_* below).
    "axes.middleware.AxesMiddleware",
]

if PRODUCTION:
    # gunicorn serves the admin's collected static files itself (runserver does it in development).
    MIDDLEWARE.insert(2, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "aura_project.urls"
WSGI_APPLICATION = "aura_project.wsgi.application"

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
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "aura.sqlite3",
            "OPTIONS": {
                # WAL lets readers run beside the one writer; the busy timeout makes the web server, the
                # worker and beat queue for the write lock instead of failing with "database is locked".
                # IMMEDIATE takes the write lock at BEGIN, so a transaction never has to upgrade and deadlock.
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
            },
        }
    }
# The retention purge and the Director's early purge run over a connection of their own, as the database role
# that alone may delete evidence (manage.py db_roles; docs/operations.md). Unset, they use the default
# connection. A test run mirrors the default database, and the purge then shares its connection.
DATABASE_PURGE_URL = env_str("DATABASE_PURGE_URL")
if DATABASE_PURGE_URL:
    if not DATABASE_URL:
        raise ImproperlyConfigured("DATABASE_PURGE_URL needs DATABASE_URL: the purge's role is a PostgreSQL role")
    DATABASES["purge"] = dj_database_url.parse(DATABASE_PURGE_URL, conn_max_age=0, conn_health_checks=True)
    DATABASES["purge"]["TEST"] = {"MIRROR": "default"}
if env_str("AURA_TEST_DB_NAME"):
    # Lets several test runs share one PostgreSQL server without fighting over test_<name>.
    DATABASES["default"].setdefault("TEST", {})["NAME"] = env_str("AURA_TEST_DB_NAME")
DATABASE_VENDOR = DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# django-axes first: it refuses a locked-out username+address before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Redis, broker and cache --------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
REDIS_VISIBILITY_TIMEOUT = 3900  # seconds; see the Redis broker's options below
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or REDIS_URL
if CELERY_BROKER_URL is None:
    # The embedded broker: kombu's filesystem transport needs no server. Web, worker and beat share
    # these folders, so the three processes of `make run` talk without Redis.
    broker_dir = DATA_DIR / "broker"
    for sub in ("queue", "processed", "control"):
        (broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(broker_dir / "queue"),
        "data_folder_out": str(broker_dir / "queue"),
        "processed_folder": str(broker_dir / "processed"),
        "control_folder": str(broker_dir / "control"),
        "store_processed": False,
    }
else:
    # Redis gives an unacknowledged message (acks_late) to another worker only after the visibility timeout.
    # Recovering a killed worker's run does not wait for it: the run's lease does that (AURA_RUN_LEASE_SECONDS).
    # So the timeout only has to outlast the longest task (the purge's 3,600 s hard limit) and a retry's
    # countdown, or Redis would hand a task that is still running to a second worker: 3,900 s.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": REDIS_VISIBILITY_TIMEOUT}
if REDIS_URL is None and CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    REDIS_URL = CELERY_BROKER_URL

if REDIS_URL:
    # Throttle counters are shared through Redis so every web process sees the same rate.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "aura_cache",
        }
    }

CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 600)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 540)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A web request that queues work after commit waits at most this long on a broker that is down; the
# work is in the database already and the sweeper queues it again later.
CELERY_BROKER_CONNECTION_TIMEOUT = env_int("CELERY_BROKER_CONNECTION_TIMEOUT", 2)
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
# A RUNNING scoring or batch run renews its lease at least every third of this as it goes; the sweeper (every
# minute) queues again a run whose lease has passed: its worker died. Longer than any one chunk of work takes,
# or a slow but live run is sent twice (harmless: each worker is scored once, each report recorded once).
# A large batch run is split by worker into this many parts, processed in parallel by the Celery worker's
# processes (match its --concurrency).
AURA_BATCH_PARTS = env_int("AURA_BATCH_PARTS", 2)
AURA_RUN_LEASE_SECONDS = env_int("AURA_RUN_LEASE_SECONDS", 60)
if AURA_RUN_LEASE_SECONDS < 10:
    raise ImproperlyConfigured(f"AURA_RUN_LEASE_SECONDS={AURA_RUN_LEASE_SECONDS} is too short; use 10 or more")

# --- REST framework -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "workforce.api.auth.ServiceKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["workforce.api.permissions.IsDirector"],
    "DEFAULT_SCHEMA_CLASS": "workforce.api.schema.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "aura_project.pagination.LimitOffsetPagination",
    "DEFAULT_PARSER_CLASSES": [
        "aura_project.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "PAGE_SIZE": 50,
    # Proxies in front of the server that append to X-Forwarded-For. 0 (direct, as in docker-compose) takes the
    # client address from the connection, so a caller cannot spoof its way out of the failed-auth throttle.
    "NUM_PROXIES": env_int("AURA_NUM_PROXIES", 0),
    "EXCEPTION_HANDLER": "aura_project.exceptions.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["workforce.api.throttling.KeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "key": env_rate("AURA_THROTTLE_RATE", "6000/min"),
        # Failed authentications (a wrong, revoked or expired key) per client address.
        "auth_failure": env_rate("AURA_AUTH_FAILURE_RATE", "60/min"),
    },
}
API_KEY_CUSTOM_HEADER = "HTTP_AUTHORIZATION"
SPECTACULAR_SETTINGS = {
    "TITLE": "Aura Orchestra governance API",
    "DESCRIPTION": "The Manager's API: workers, tasks, routing, audit reports, HR enforcement and scoring.",
    "VERSION": "1.0.0",
    # 3.1: full JSON Schema, for what 3.0 cannot say (a [type, severity] pair, the keys a log entry may have).
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and ReDoc from drf-spectacular-sidecar's static files: /api/docs/ needs no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Every endpoint needs a key or a login, the schema and Swagger UI included.
    "SERVE_PERMISSIONS": ["workforce.api.permissions.RecordsReader"],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "WorkerStatusEnum": "workforce.models.Worker.Status",
        "TaskStatusEnum": "workforce.models.Task.Status",
        "IncidentStatusEnum": "governance.models.Incident.Status",
        "AuditRunStatusEnum": "governance.models.AuditRun.Status",
        "AuditResultStatusEnum": ["clean", "violation"],
        # Three choice sets named "mode": the system's, a detector's, and a finding's (never off).
        "SystemModeEnum": ["normal", "halted"],
        "DetectorModeEnum": ["enforce", "observe", "off"],
        "FindingModeEnum": ["enforce", "observe"],
    },
}

# --- Admin login lockout (django-axes; docs/operations.md "Admin login lockout") ---------------------------------
# A username tried from one address is locked after AURA_LOGIN_FAILURE_LIMIT wrong passwords, until
# AURA_LOGIN_COOLOFF_MINUTES after the last attempt; the right password is refused too until then. Attempts are rows
# in the project's database, so every web process sees them. The API's keys never go through this.
AXES_FAILURE_LIMIT = env_int("AURA_LOGIN_FAILURE_LIMIT", 5)
if AXES_FAILURE_LIMIT < 1:
    raise ImproperlyConfigured(f"AURA_LOGIN_FAILURE_LIMIT={AXES_FAILURE_LIMIT}; use 1 or more")
cool_off_minutes = env_int("AURA_LOGIN_COOLOFF_MINUTES", 15)
if cool_off_minutes < 1:
    # Without a cool-off axes locks for good; the Director would have to unlock every lockout by hand.
    raise ImproperlyConfigured(f"AURA_LOGIN_COOLOFF_MINUTES={cool_off_minutes}; use 1 or more")
AXES_COOLOFF_TIME = timedelta(minutes=cool_off_minutes)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_RESET_ON_SUCCESS = True  # a successful login forgets the failures before it
AXES_CLIENT_IP_CALLABLE = "aura_project.lockout.client_address"  # the throttles' address (AURA_NUM_PROXIES)
AXES_LOCKOUT_CALLABLE = "aura_project.lockout.lockout_response"
AXES_VERBOSE = False  # no start-up banner on every manage.py command; failures and lockouts are still logged

# A report is at most 1 MB; larger bodies get 413 before any parsing.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000_000
AURA_MAX_BODY_BYTES = 1_000_000

# --- Security -----------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}


# --- The Director's control room (django-unfold) ---------------------------------------------------
# The admin index is the Director's dashboard (governance.dashboard); the sidebar groups what the Director uses.
# unfold's login form posts to its own URL with no `next` field: a login opened directly (not by a redirect from
# a page) would land on Django's default /accounts/profile/, a 404. The control room is where a login leads.
LOGIN_REDIRECT_URL = "/admin/"


def _nav(title: str, icon: str, url_name: str, permission: str | None) -> dict:
    """One sidebar entry of the control room: an admin page, shown when governance.admin_nav says so."""
    from django.urls import reverse_lazy

    item = {
        "title": title,
        "icon": icon,
        "link": reverse_lazy(f"admin:{url_name}" if url_name == "index" else f"admin:{url_name}_changelist"),
    }
    if permission:
        item["permission"] = f"governance.admin_nav.{permission}"
    return item


UNFOLD = {
    "SITE_TITLE": "Aura Orchestra",
    "SITE_HEADER": "Aura Orchestra",
    "SITE_SUBHEADER": "The Director's control room",
    "SITE_URL": "/admin/",
    "DASHBOARD_CALLBACK": "governance.dashboard.dashboard_callback",
    # The sidebar groups what the Director uses; each entry shows only to whoever its admin lists it for
    # (governance.admin_nav), and the internal tables only to superusers.
    "SIDEBAR": {
        "show_search": True,
        "show_all_applications": False,
        "navigation": [
            {
                "title": "Control room",
                "items": [_nav("Dashboard", "dashboard", "index", None)],
            },
            {
                "title": "Fleet",
                "collapsible": False,
                "items": [
                    _nav("Workers", "groups", "workforce_worker", "workers"),
                    _nav("Tasks", "task", "workforce_task", "tasks"),
                    _nav("Assignments", "assignment_ind", "workforce_assignment", "assignments"),
                    _nav("Handovers", "swap_horiz", "workforce_handover", "handovers"),
                    _nav("Events (the Manager's inbox)", "inbox", "workforce_event", "events"),
                    _nav("System mode (halt and resume)", "emergency", "workforce_systemmode", "system_mode"),
                ],
            },
            {
                "title": "Incidents and evidence",
                "collapsible": False,
                "items": [
                    _nav("Incidents", "report", "governance_incident", "incidents"),
                    _nav("Audit records", "fact_check", "governance_auditrecord", "audit_records"),
                    _nav("Findings (detectors)", "troubleshoot", "governance_finding", "findings"),
                    _nav("Disciplinary actions", "gavel", "governance_disciplinaryaction", "actions"),
                    _nav("Penalties", "remove_circle", "governance_penalty", "penalties"),
                    _nav("Pending sanctions", "pending_actions", "governance_pendingsanction", "pending_sanctions"),
                    _nav("Spikes", "trending_up", "governance_spike", "spikes"),
                    _nav("Holds", "lock", "governance_hold", "holds"),
                ],
            },
            {
                "title": "Policy",
                "collapsible": False,
                "items": [
                    _nav("Policies", "policy", "governance_policy", "policies"),
                    _nav("Governance settings", "tune", "governance_governancesettings", "settings_versions"),
                ],
            },
            {
                "title": "Records",
                "collapsible": False,
                "items": [
                    _nav("Score records", "scoreboard", "governance_scorerecord", "scores"),
                    _nav("Scoring runs", "calculate", "governance_scoringrun", "scoring_runs"),
                    _nav("Audit runs", "playlist_add_check", "governance_auditrun", "audit_runs"),
                    _nav("Purge log", "delete_history", "governance_purgelog", "purge_logs"),
                ],
            },
            {
                "title": "Access",
                "collapsible": False,
                "items": [
                    _nav("Service keys", "key", "workforce_servicekey", "service_keys"),
                ],
            },
            {
                "title": "Internal (superusers)",
                "collapsible": True,
                "items": [
                    _nav("Purge permits", "verified_user", "governance_purgepermit", "superuser"),
                    _nav("Command records", "receipt_long", "governance_commandrecord", "superuser"),
                    _nav("Audit run items", "list", "governance_auditrunitem", "superuser"),
                    _nav("Users", "person", "auth_user", "superuser"),
                    _nav("Groups (roles)", "badge", "auth_group", "superuser"),
                    _nav("Beat job runs", "schedule", "governance_beatjobrun", "superuser"),
                    _nav("Incident day counts", "calendar_month", "governance_incidentdaycount", "superuser"),
                    _nav("Login attempts (lockouts)", "lock_person", "axes_accessattempt", "superuser"),
                    _nav("Login failures", "no_accounts", "axes_accessfailurelog", "superuser"),
                ],
            },
        ],
    },
}
