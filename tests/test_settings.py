import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_check(env_overrides):
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip


def test_missing_secret_key_outside_debug_is_a_clear_error():
    result = run_check({})
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_debug_runs_without_secret_key():
    result = run_check({"DEBUG": "1"})
    assert result.returncode == 0, result.stderr


PRODUCTION = {
    # Long, random and without the "django-insecure-" prefix, as check --deploy wants it.
    "SECRET_KEY": "Vx7q" + "-".join(str(n) * 3 + "kZp" for n in range(12)),
    "ALLOWED_HOSTS": "landkarte.example.org,testserver",
}


def run_production(args, extra=None, tmp_path=None):
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    env.pop("DATABASE_URL", None)  # nothing here touches a database; never a real one
    env.update(PRODUCTION, **(extra or {}))
    if tmp_path is not None:
        env["LANDKARTE_DATA_DIR"] = str(tmp_path)
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = run_production(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], tmp_path=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    # The same check fails on a development setup, so this test can fail.
    debug = run_production(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        {"DEBUG": "1", "SECURE_SSL_REDIRECT": "0"},
        tmp_path,
    )
    assert debug.returncode != 0
    assert "security.W018" in debug.stderr  # DEBUG
    assert "security.W008" in debug.stderr  # SECURE_SSL_REDIRECT


HEADERS_SCRIPT = """
import json, django
django.setup()
from django.test import Client
client = Client()
plain = client.get("/login/")
secure = client.get("/login/", secure=True)
print(json.dumps({
    "plain": [plain.status_code, plain.get("Location", "")],
    "secure": [secure.status_code, dict(secure.headers.items()),
               [str(c) for c in secure.cookies.values()]],
}))
"""


def test_production_responses_carry_the_security_headers(tmp_path):
    import json

    result = run_production(
        ["-c", HEADERS_SCRIPT],
        {"DJANGO_SETTINGS_MODULE": "landkarte.settings", "SECURE_HSTS_PRELOAD": "1"},
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    # Plain HTTP is sent to HTTPS.
    assert answer["plain"] == [301, "https://testserver/login/"]
    status, headers, cookies = answer["secure"]
    assert status == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    policy = headers["Content-Security-Policy"]
    for directive in (
        "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
        "frame-ancestors 'none'", "form-action 'self'", "base-uri 'self'",
    ):  # fmt: skip
        assert directive in policy
    csrf_cookie = next(c for c in cookies if "csrftoken" in c)
    assert "Secure" in csrf_cookie
