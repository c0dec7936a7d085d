"""Settings for Landkarte, read from environment variables.

Safe by default: DEBUG is off unless set, and without DEBUG a SECRET_KEY must be given.
"""

import os
import sys
import warnings
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable "
            "(or DEBUG=1 for local development)."
        )
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "graphene_django",
    "django_filters",
    "mptt",
    "simple_history",
    "cmdb",
    "itsm",
    "sourcing",
    "architecture",
    "importers",
    # Last, so that its post_migrate hook sees the permissions of all other apps.
    "landkarte",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy (LANDKARTE_CSP below) on every response, early answers included;
    # Django 5.2 has no built-in CSP.
    "landkarte.security.ContentSecurityPolicyMiddleware",
    # The product runs in closed networks without a web server in front: it serves its own
    # scripts and styles.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # A lost database connection answers 503 with Retry-After instead of a 500.
    "landkarte.resilience.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "landkarte.auth.BearerTokenMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "landkarte.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "landkarte" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "landkarte.pages.navigation",
            ],
        },
    },
]

WSGI_APPLICATION = "landkarte.wsgi.application"

DATA_DIR = Path(os.environ.get("LANDKARTE_DATA_DIR", BASE_DIR / "var"))
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{DATA_DIR / 'landkarte.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")),
        # A connection kept across requests is checked first, so the service recovers by
        # itself after a database restart.
        conn_health_checks=True,
    )
}
LANDKARTE_DB_RETRY_AFTER = int(os.environ.get("LANDKARTE_DB_RETRY_AFTER", "5"))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    # WAL and a busy timeout let the dev server and a management command share the file.
    # IMMEDIATE transactions take the write lock at BEGIN, so concurrent writers wait for it
    # (up to the timeout) instead of failing with "database is locked" when a read turns into
    # a write.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
        }
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The registry's statements are short lookups and a few recursive graph walks whose cost
    # estimate crosses the JIT threshold at city scale; compiling them took up to 0.45 s per
    # statement, more than it saved. A DATABASE_URL with its own ?options= keeps them.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Checked by the admin's user and password forms, createsuperuser and changepassword.
LANDKARTE_PASSWORD_MIN_LENGTH = int(os.environ.get("LANDKARTE_PASSWORD_MIN_LENGTH", "12"))
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": LANDKARTE_PASSWORD_MIN_LENGTH},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Berlin")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))

# Serve from the apps' static folders too, so that no collectstatic is needed to start (and
# do not warn that STATIC_ROOT is missing then).
WHITENOISE_USE_FINDERS = True
warnings.filterwarnings("ignore", message="No directory at: .*staticfiles")

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# GraphQL limits (landkarte/graphql_limits.py): each refusal is an error with a code, checked
# on a cached parse of the document before validation and execution.
LANDKARTE_GRAPHQL_MAX_DEPTH = 20  # the standard introspection query is 15 deep
LANDKARTE_GRAPHQL_MAX_ALIASES = 30
LANDKARTE_GRAPHQL_MAX_FIELDS = 500
LANDKARTE_GRAPHQL_MAX_COST = 200_000  # a field costs 1, times `first` of each connection
LANDKARTE_GRAPHQL_LIST_SIZE = 5  # assumed rows of a list field without paging
LANDKARTE_GRAPHQL_MAX_PAGE_SIZE = 1000
LANDKARTE_GRAPHQL_MAX_TOKENS = 10_000
LANDKARTE_GRAPHQL_MAX_BODY_BYTES = 1024 * 1024
LANDKARTE_GRAPHQL_DOCUMENT_CACHE_SIZE = 500
LANDKARTE_GRAPHQL_FIELD_SUGGESTIONS = DEBUG
LANDKARTE_GRAPHQL_INTROSPECTION = True  # signed-in users only; anonymous users get 401

GRAPHENE = {
    "SCHEMA": "landkarte.schema.schema",
    "RELAY_CONNECTION_MAX_LIMIT": LANDKARTE_GRAPHQL_MAX_PAGE_SIZE,
    "ATOMIC_MUTATIONS": True,
    # No field middleware: under DEBUG graphene-django would add DjangoDebugMiddleware (the
    # `_debug` field, which nothing uses), wrapping every resolver of every row.
    "MIDDLEWARE": [],
}

GRAPHQL_QUERY_OPTIMIZER = {
    # Application lists with interfaces and their counterparts need more joins than the default.
    "MAX_COMPLEXITY": 20,
    # Lists load only the selected columns (only()); computed fields (timeClass, isEu...) load
    # what their type declares in `field_reads` (landkarte.graphql.BaseNodeType).
}

# ITSM. Priority comes from impact × urgency (itsm.services.sla.DEFAULT_PRIORITY_MATRIX unless
# LANDKARTE_PRIORITY_MATRIX = {impact: {urgency: "p1".."p4"}} is set here).
LANDKARTE_CHANGE_CONFLICT_DEPTH = int(os.environ.get("LANDKARTE_CHANGE_CONFLICT_DEPTH", "2"))
LANDKARTE_AUTO_CLOSE_BUSINESS_DAYS = int(os.environ.get("LANDKARTE_AUTO_CLOSE_BUSINESS_DAYS", "5"))

# --- Accounts ---------------------------------------------------------------------------------
# Login throttle (landkarte.security): after this many failed sign-ins for one username within
# the window, further attempts are refused without checking the password (a success resets the
# count); the count per client address does not reset and is higher, because a whole office
# can share one address behind a NAT.
LANDKARTE_LOGIN_MAX_FAILURES = int(os.environ.get("LANDKARTE_LOGIN_MAX_FAILURES", "5"))
LANDKARTE_LOGIN_MAX_FAILURES_PER_IP = int(
    os.environ.get("LANDKARTE_LOGIN_MAX_FAILURES_PER_IP", "20")
)
LANDKARTE_LOGIN_WINDOW = int(os.environ.get("LANDKARTE_LOGIN_WINDOW", "900"))  # seconds
# Behind a trusted reverse proxy, the META key of the header it appends the client address to
# (e.g. HTTP_X_FORWARDED_FOR; its last entry is used). Empty: REMOTE_ADDR.
LANDKARTE_CLIENT_IP_HEADER = os.environ.get("LANDKARTE_CLIENT_IP_HEADER", "")
# API tokens: lifetime when create_api_token gets no --days, the longest --days allowed, and
# how often (seconds) last use is written and a token_used event recorded per token.
LANDKARTE_API_TOKEN_DAYS = int(os.environ.get("LANDKARTE_API_TOKEN_DAYS", "90"))
LANDKARTE_API_TOKEN_MAX_DAYS = int(os.environ.get("LANDKARTE_API_TOKEN_MAX_DAYS", "366"))
LANDKARTE_API_TOKEN_USE_INTERVAL = 60

# Content-Security-Policy of every page (landkarte.security.ContentSecurityPolicyMiddleware);
# None switches the header off. Only the GraphiQL page (GET /graphql/ in a browser) gets
# landkarte.security.GRAPHIQL_CSP, which admits jsDelivr. style-src-attr 'unsafe-inline': the
# dependency picture (architecture/pictures.py) caps its width with a style attribute;
# attributes only, <style> elements and scripts stay refused.
LANDKARTE_CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "style-src-attr": "'unsafe-inline'",
    "img-src": "'self' data:",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
    "base-uri": "'self'",
}

SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

if not DEBUG:
    # Production: cookies only over HTTPS, HSTS, and plain HTTP redirected to HTTPS.
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    # Preloading is a promise to browsers that is hard to take back: opt in per deployment.
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    # The test client speaks plain HTTP: under pytest the redirect is off unless asked for.
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", "pytest" not in sys.modules)
    # Behind a TLS-terminating proxy: SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https"
    # (only if that proxy always sets or strips the header).
    if os.environ.get("SECURE_PROXY_SSL_HEADER"):
        _header, _, _value = os.environ["SECURE_PROXY_SSL_HEADER"].partition(",")
        SECURE_PROXY_SSL_HEADER = (_header.strip(), _value.strip() or "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
