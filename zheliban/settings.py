"""Settings for Zheliban, read from the environment.

With nothing set, the project runs as the embedded demo: SQLite under ``var/``, Celery tasks run
eagerly in the web process, DEBUG on. Production sets ``DATABASE_URL``, ``CELERY_BROKER_URL``,
``SECRET_KEY`` and ``ALLOWED_HOSTS``; see the configuration table in the README.
"""

from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("ZHELIBAN_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
EMBEDDED = not env.str("DATABASE_URL", default="")

DEBUG = env.bool("DEBUG", default=EMBEDDED)
if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="embedded-demo-key-not-for-production")
else:
    SECRET_KEY = env.str("SECRET_KEY")  # required: raises ImproperlyConfigured when unset

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The portal's address as citizens reach it: links sent by SMS and e-mail start with it.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "axes",
    # Project apps, ground floor first.
    "zheliban.core",
    "zheliban.accounts",
    "departments",
    "registers",
    "catalog",
    "workflows",
    "complaints",
    "scoreboard",
    "citizen",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # django-csp's, with the policy built once per process rather than for every response.
    "zheliban.core.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "zheliban.core.middleware.LanguageMiddleware",
    # Before anything reads a body: an oversized one is refused unread, in the asker's language.
    "zheliban.core.middleware.RequestSizeMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "zheliban.core.middleware.ElderModeMiddleware",
    # Below the headers' middleware, so a refusal carries them; above every view.
    "zheliban.core.middleware.ControlCharacterMiddleware",
    "axes.middleware.AxesMiddleware",
    # The API's query parameters are its schema's: others answer 400 before the view runs.
    "zheliban.core.strict_query.StrictQueryMiddleware",
    # Last: public pages kept whole for visitors without a session (PUBLIC_PAGES below).
    "zheliban.core.page_cache.PublicPageCacheMiddleware",
]

# The public pages and API reads kept whole for visitors without a session
# (zheliban/core/page_cache.py): each URL name with the functions that tell the version of what it
# shows. Most show the catalog (its generation, bumped by every change of items, departments,
# regions, themes, bundles...); the board's, its snapshots too.
_CATALOG_VERSION = "catalog.selectors.page_version"
_BOARD_VERSION = "scoreboard.selectors.board_version"
PUBLIC_PAGES = {
    "home": [_CATALOG_VERSION],
    "catalog:search": [_CATALOG_VERSION],
    "catalog:item": ["catalog.selectors.guide_version"],
    "catalog:item-version": [_CATALOG_VERSION],
    "catalog:themes": [_CATALOG_VERSION],
    "catalog:theme": [_CATALOG_VERSION],
    "catalog:life-event": [_CATALOG_VERSION],
    "catalog:bundles": [_CATALOG_VERSION],
    "catalog:bundle": [_CATALOG_VERSION],
    "departments:directory": [_CATALOG_VERSION],
    "departments:shop": [_CATALOG_VERSION],
    "complaints:assistant": [_CATALOG_VERSION],
    "scoreboard:board": [_CATALOG_VERSION, _BOARD_VERSION],
    "api:item-list": [_CATALOG_VERSION],
    "api:item-detail": [_CATALOG_VERSION],
    "api:item-jsonld": [_CATALOG_VERSION],
    "api:item-version": [_CATALOG_VERSION],
    "api:theme-list": [_CATALOG_VERSION],
    "api:life-event-list": [_CATALOG_VERSION],
    "api:bundle-list": [_CATALOG_VERSION],
    "api:bundle-detail": [_CATALOG_VERSION],
    "api:region-list": [_CATALOG_VERSION],
    "api:region-detail": [_CATALOG_VERSION],
    "api:department-list": [_CATALOG_VERSION],
    "api:department-detail": [_CATALOG_VERSION],
    "api:scoreboard": [_CATALOG_VERSION, _BOARD_VERSION],
}

ROOT_URLCONF = "zheliban.urls"
WSGI_APPLICATION = "zheliban.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "zheliban.core.context_processors.site",
                "zheliban.navigation.staff_links",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'zheliban.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0 if EMBEDDED else 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = not EMBEDDED
if EMBEDDED:
    DATABASES["default"]["OPTIONS"] = {"timeout": 20}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://zheliban")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # Everything cached can be computed again: a cache server outage costs speed, never a page.
    CACHES["default"]["BACKEND"] = "zheliban.core.cache.FailOpenRedisCache"
    CACHES["default"].setdefault("OPTIONS", {}).update(
        {"socket_connect_timeout": 0.25, "socket_timeout": 0.5}
    )
if CACHES["default"]["BACKEND"].endswith("LocMemCache"):
    # The catalog keeps search answers and rendered pages here; Django's default of 300 entries
    # would cull them (and the catalog's generation with them) every few dozen searches.
    CACHES["default"].setdefault("OPTIONS", {}).setdefault("MAX_ENTRIES", 3000)

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "zheliban.accounts.backends.LoginBackend",
    "departments.backends.RolePermissionBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("username", "real_name", "phone", "email")},
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:profile"
LOGOUT_REDIRECT_URL = "home"

# Login throttling (django-axes, web login, admin login and the API token alike), with two
# counters over a window of 15 minutes:
# - the account: every spelling of a login name that the login backend accepts (user name in any
#   case, mobile number with spaces, dashes or +86, ID number with spaces or a small x, full-width
#   digits) counts against the account it names, from any address; a name that names no account
#   counts under its normal form, so a lockout reveals nothing. AXES_FAILURE_LIMIT failures lock
#   the account everywhere; a successful login clears its counter.
# - the address: AXES_ADDRESS_FAILURE_LIMIT failures from one address, whatever the names, lock
#   logins from it. A service hall puts its kiosks and visitors behind one NAT address: a busy
#   hall (about 300 logins an hour, one in five mistyped) makes about 15 failures in a window, so
#   50 leaves it three times that before a lockout, while a guesser behind one address gets 50
#   tries per window spread over accounts, and never more than the account limit on one account.
#   Success does not clear the address's counter (one good login must not forgive another
#   person's guesses). Attempts refused during a lockout are not counted, so people at a locked
#   hall do not lock their own accounts by retrying.
AXES_HANDLER = "zheliban.accounts.throttling.LoginAttemptHandler"
AXES_USERNAME_CALLABLE = "zheliban.accounts.throttling.login_counter_key"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_ADDRESS_FAILURE_LIMIT = env.int("AXES_ADDRESS_FAILURE_LIMIT", default=50)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "zheliban.accounts.throttling.lockout_response"
AXES_IPWARE_PROXY_COUNT = env.int("PROXY_COUNT", default=0)
AXES_VERBOSE = False

# django-guardian: exceptions to department scoping are direct foreign-key permission rows.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "zheliban" / "locale"]
LANGUAGE_COOKIE_NAME = "zhb_lang"
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_BACKEND",
            default="django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"
# Citizens' uploads: outside any served folder, handed out only by views that check permission.
PRIVATE_MEDIA_ROOT = Path(env.str("PRIVATE_MEDIA_ROOT", default=str(VAR_DIR / "private")))
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=20 * 1024 * 1024)
# The largest request body: by default five of the largest uploads (a ticket's attachments) and
# their form. A request that announces more is refused with 413 before its body is read.
REQUEST_BODY_MAX_BYTES = env.int(
    "REQUEST_BODY_MAX_BYTES", default=5 * UPLOAD_MAX_BYTES + 1024 * 1024
)
# The complaints desk's dispatch model files (train_dispatch) and optional staff rules.
DISPATCH_MODEL_DIR = Path(env.str("DISPATCH_MODEL_DIR", default=str(VAR_DIR / "models")))
DISPATCH_RULES_PATH = env.str("DISPATCH_RULES_PATH", default="") or None
# The assistant answers only at or above this confidence (0-1). 0.4: the lowest at which at least
# 90% of its answers to held-out real questions cite the right article (tests/bench/assistant.py).
ASSISTANT_THRESHOLD = env.float("ASSISTANT_THRESHOLD", default=0.4)
# Open311: the one jurisdiction served, and the region of a request that names none.
OPEN311_JURISDICTION = env.str("OPEN311_JURISDICTION", default="zheliban.gov.cn")
OPEN311_DEFAULT_REGION = env.str("OPEN311_DEFAULT_REGION", default="330000")
WHITENOISE_USE_FINDERS = DEBUG

# Security. Everything below is on when DEBUG is off; behind a TLS-terminating proxy set
# SECURE_PROXY_SSL_HEADER=1 (it trusts X-Forwarded-Proto) and keep SECURE_SSL_REDIRECT on.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = not DEBUG
LANGUAGE_COOKIE_SECURE = not DEBUG
X_FRAME_OPTIONS = "DENY"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# How long an API token (accounts.PersonalToken) lives after it is issued.
API_TOKEN_DAYS = env.int("API_TOKEN_DAYS", default=30)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "zheliban.accounts.authentication.PersonalTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "zheliban.core.api.Pagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["zheliban.core.api.FilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "zheliban.core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "zheliban.core.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"anon": "600/min", "user": "1200/min"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Zheliban API",
    "DESCRIPTION": "Government services of the province: catalog, applications, complaints, "
    "scoreboard. All lists are paginated; errors share one shape.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "UserKindEnum": "zheliban.accounts.models.User.Kind",
        "DepartmentKindEnum": "departments.models.Department.Kind",
        "RegionLevelEnum": "departments.models.Region.Level",
        "MembershipRoleEnum": "departments.models.Membership.Role",
        "ApplicationStatusEnum": "workflows.models.Application.Status",
        "TaskStateEnum": "workflows.models.Task.State",
        "RatingScoreEnum": "workflows.models.Rating.Score",
    },
}

# Celery. Without a broker the demo runs tasks eagerly, in the web process. Production runs on
# RabbitMQ (amqp://): durable quorum queues, publisher confirms, late acknowledgements, one
# message prefetched per worker process. Redis (redis://) works too: a message a worker took and
# never acknowledged comes back after the visibility timeout, which is kept above the longest a
# task may run (CELERY_TASK_TIME_LIMIT).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_BROKER_SCHEME = CELERY_BROKER_URL.partition("://")[0].lower()
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
if CELERY_TASK_ALWAYS_EAGER and not CELERY_BROKER_URL:
    # Run eagerly, a task still takes a producer to encode its arguments as a send would. The
    # in-process memory transport gives it one; naming its host keeps kombu from warning that it
    # reverts to localhost (no connection is ever made).
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=1800)
CELERY_TASK_SOFT_TIME_LIMIT = max(CELERY_TASK_TIME_LIMIT - 60, 1)
# A worker that loses its broker waits for it for ever (reconnecting), it never exits.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_CHANNEL_ERROR_RETRY = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2
if CELERY_BROKER_SCHEME in ("amqp", "amqps", "pyamqp"):
    CELERY_TASK_DEFAULT_QUEUE_TYPE = "quorum"
    CELERY_TASK_CREATE_MISSING_QUEUE_TYPE = "quorum"
    CELERY_WORKER_DETECT_QUORUM_QUEUES = True
    # The broker confirms every publish: a message is handed over only once RabbitMQ has it.
    # A publish that cannot connect fails at once (no retry with a pause inside the request
    # that committed): the outbox relay hands the message over later.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "confirm_publish": True,
        "connect_timeout": 2,
        "max_retries": 0,
    }
else:
    # A broker that accepts connections but never answers must not hang the request that
    # committed; one that refuses them fails the publish at once, for the relay to retry.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": CELERY_TASK_TIME_LIMIT + 300,
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
        "max_retries": 0,
    }
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "outbox-relay": {"task": "core.outbox_relay", "schedule": 30.0},
    # Deadlines live in the database; this one sweep reminds and escalates (督办).
    "deadlines-sweep": {"task": "workflows.deadlines_sweep", "schedule": 900.0},
    "tickets-sweep": {"task": "complaints.tickets_sweep", "schedule": 900.0},
    # The leaders' statistics: changed days left over, the weeks and months, overdue by the date.
    "ticket-stats": {"task": "complaints.ticket_stats_refresh", "schedule": 300.0},
    # The board's snapshots of the running periods, every hour; closed periods stay as they are.
    "scoreboard": {"task": "scoreboard.compute", "schedule": 3600.0},
}
# Messages younger than this are left to their own on-commit send before the relay retries them.
OUTBOX_RELAY_GRACE_SECONDS = env.int("OUTBOX_RELAY_GRACE_SECONDS", default=20)
# How long a published message waits for its task's receipt before it is published again (a
# message lost with a broker or a worker), the cap of the doubling wait between attempts, and the
# age at which the relay gives a message up (failed, the admins told, retried from admin).
OUTBOX_RECEIPT_SECONDS = env.int("OUTBOX_RECEIPT_SECONDS", default=120)
OUTBOX_RETRY_MAX_SECONDS = env.int("OUTBOX_RETRY_MAX_SECONDS", default=3600)
OUTBOX_MAX_AGE_HOURS = env.int("OUTBOX_MAX_AGE_HOURS", default=24)
HEALTHZ_BROKER_TIMEOUT = 1.0

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
# Notice channels: SMS on the console by default; an HTTP gateway when SMS_GATEWAY_URL is set.
SMS_GATEWAY_URL = env.str("SMS_GATEWAY_URL", default="")
SMS_GATEWAY_TOKEN = env.str("SMS_GATEWAY_TOKEN", default="")
NOTIFY_BACKENDS = {
    "email": "zheliban.core.notify.EmailBackend",
    "sms": "zheliban.core.notify.HttpSMSBackend"
    if SMS_GATEWAY_URL
    else "zheliban.core.notify.ConsoleSMSBackend",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_pii": {"()": "zheliban.core.logging.MaskPIIFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["mask_pii"], "formatter": "plain"}
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
    },
}

SITE_NAME = _("Zheliban government services")
