"""Accounts: login throttling, password rules, API tokens (expiry, last use, revocation), the
audit log and the security headers."""

import datetime
import re
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from landkarte.models import APIToken, AuditEvent
from landkarte.security import client_ip, login_wait_seconds

PASSWORD = "pw-for-tests-only"
ME = "{ me { user { username } } }"
Kind = AuditEvent.Kind


def sign_in(client, username, password, **extra):
    return client.post("/login/", {"username": username, "password": password}, **extra)


def kinds(**filters):
    return list(AuditEvent.objects.filter(**filters).order_by("pk").values_list("kind", flat=True))


# --- login throttling -----------------------------------------------------------------------


def test_too_many_failures_refuse_sign_in_without_checking_the_password(client, make_user):
    make_user("desk", "service_desk")
    for _ in range(5):
        response = sign_in(client, "desk", "wrong password")
        assert response.status_code == 200
    with mock.patch("django.contrib.auth.forms.authenticate") as authenticate:
        response = sign_in(client, "desk", PASSWORD)
    authenticate.assert_not_called()
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many failed sign-ins. Try again in 15 minutes." in response.content.decode()
    assert response.context["form"].errors.as_data()["__all__"][0].code == "throttled"
    assert "_auth_user_id" not in client.session
    assert kinds(username="desk") == [Kind.SIGN_IN_FAILED] * 5 + [Kind.SIGN_IN_THROTTLED]


def test_four_failures_still_sign_in(client, make_user):
    make_user("desk", "service_desk")
    for _ in range(4):
        sign_in(client, "desk", "wrong password")
    response = sign_in(client, "desk", PASSWORD)
    assert response.status_code == 302
    assert kinds(username="desk")[-1] == Kind.SIGN_IN


def test_success_resets_the_username_count(client, make_user):
    make_user("desk", "service_desk")
    for _ in range(4):
        sign_in(client, "desk", "wrong password")
    assert sign_in(client, "desk", PASSWORD).status_code == 302
    client.post("/logout/")
    for _ in range(4):
        sign_in(client, "desk", "wrong password")
    # 8 failures in the window, but only 4 since the last success.
    assert sign_in(client, "desk", PASSWORD).status_code == 302


def test_failures_older_than_the_window_do_not_count(client, make_user, settings):
    settings.LANDKARTE_LOGIN_WINDOW = 600
    make_user("desk", "service_desk")
    old = timezone.now() - datetime.timedelta(seconds=601)
    for _ in range(5):
        AuditEvent.objects.create(kind=Kind.SIGN_IN_FAILED, username="desk", created=old)
    assert login_wait_seconds("desk", "127.0.0.1") == 0
    assert sign_in(client, "desk", PASSWORD).status_code == 302
    # Failures inside the window lock the account, for what is left of the window.
    recent = timezone.now() - datetime.timedelta(seconds=100)
    for _ in range(5):
        AuditEvent.objects.create(kind=Kind.SIGN_IN_FAILED, username="anna", created=recent)
    assert 495 <= login_wait_seconds("anna", None) <= 500


def test_failures_from_one_address_refuse_other_usernames(make_user, settings):
    settings.LANDKARTE_LOGIN_MAX_FAILURES_PER_IP = 3
    make_user("desk", "service_desk")
    attacker = Client(REMOTE_ADDR="203.0.113.7")
    for name in ("anna", "bert", "carl"):
        sign_in(attacker, name, "guess")
    assert sign_in(attacker, "desk", PASSWORD).status_code == 429
    # Other addresses are not affected.
    assert sign_in(Client(REMOTE_ADDR="198.51.100.1"), "desk", PASSWORD).status_code == 302
    assert AuditEvent.objects.filter(ip="203.0.113.7", kind=Kind.SIGN_IN_FAILED).count() == 3


def test_throttled_json_client_gets_429_json(client, make_user, settings):
    settings.LANDKARTE_LOGIN_MAX_FAILURES = 2
    make_user("desk", "service_desk")
    sign_in(client, "desk", "x")
    sign_in(client, "desk", "y")
    response = sign_in(client, "desk", PASSWORD, HTTP_ACCEPT="application/json")
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert response.json()["errors"][0]["code"] == "throttled"
    assert "Too many failed sign-ins" in response.json()["errors"][0]["message"]


def test_admin_sign_in_is_throttled_too(client, admin_user, settings):
    settings.LANDKARTE_LOGIN_MAX_FAILURES = 2
    for _ in range(2):
        client.post("/admin/login/", {"username": "admin", "password": "nope"})
    response = client.post("/admin/login/", {"username": "admin", "password": PASSWORD})
    assert response.status_code == 200  # the admin's own view re-shows the form
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_client_ip_uses_the_proxy_header_only_when_configured(rf, settings):
    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 192.0.2.5")
    assert client_ip(request) == "10.0.0.1"
    settings.LANDKARTE_CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    assert client_ip(request) == "192.0.2.5"  # the entry our proxy appended, not the first
    assert client_ip(rf.get("/", REMOTE_ADDR="not an address")) is None


# --- audit log ------------------------------------------------------------------------------


def test_sign_in_failure_and_sign_out_are_recorded(make_user):
    user = make_user("desk", "service_desk")
    browser = Client(REMOTE_ADDR="192.0.2.10", HTTP_USER_AGENT="Firefox/" + "x" * 500)
    sign_in(browser, "desk", "wrong password")
    sign_in(browser, "desk", PASSWORD)
    browser.post("/logout/")
    failed, signed_in, signed_out = AuditEvent.objects.order_by("pk")
    assert (failed.kind, failed.username, failed.user) == (Kind.SIGN_IN_FAILED, "desk", None)
    assert (signed_in.kind, signed_in.user) == (Kind.SIGN_IN, user)
    assert (signed_out.kind, signed_out.user) == (Kind.SIGN_OUT, user)
    assert signed_in.ip == "192.0.2.10"
    assert signed_in.user_agent.startswith("Firefox/") and len(signed_in.user_agent) == 200
    assert "wrong password" not in str(AuditEvent.objects.values_list())


def test_audit_events_are_append_only(make_user):
    user = make_user("desk")
    event = AuditEvent.record(Kind.SIGN_IN, user=user)
    event.detail = "changed"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().update(detail="changed")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    # Deleting the user keeps the event and its username.
    user.delete()
    event = AuditEvent.objects.get()
    assert (event.user, event.username) == (None, "desk")


def test_audit_log_is_read_only_in_admin(client, admin_user):
    event = AuditEvent.record(Kind.SIGN_IN_FAILED, username="mallory")
    client.force_login(admin_user)
    assert client.get("/admin/landkarte/auditevent/").status_code == 200
    assert "mallory" in client.get("/admin/landkarte/auditevent/").content.decode()
    assert client.get("/admin/landkarte/auditevent/add/").status_code == 403
    url = f"/admin/landkarte/auditevent/{event.pk}/change/"
    assert client.post(url, {"detail": "x"}).status_code == 403
    assert client.post(f"/admin/landkarte/auditevent/{event.pk}/delete/").status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk, detail="").exists()


# --- passwords ------------------------------------------------------------------------------


def test_weak_passwords_are_refused(make_user):
    user = make_user("desk")
    with pytest.raises(ValidationError) as short:
        validate_password("Short-pw-1", user)  # 10 characters
    assert "at least 12 characters" in str(short.value)
    with pytest.raises(ValidationError):
        validate_password("password1234", user)  # common
    validate_password("Kartenhaus-Ampel-42", user)


def test_admin_refuses_a_weak_password_for_a_new_user(client, admin_user):
    client.force_login(admin_user)
    data = {"username": "newbie", "usable_password": "true"}
    response = client.post(
        "/admin/auth/user/add/", {**data, "password1": "abc12345", "password2": "abc12345"}
    )
    assert response.status_code == 200
    assert "at least 12 characters" in response.content.decode()
    assert not get_user_model().objects.filter(username="newbie").exists()
    strong = "Kartenhaus-Ampel-42"
    client.post("/admin/auth/user/add/", {**data, "password1": strong, "password2": strong})
    assert get_user_model().objects.get(username="newbie").check_password(strong)


# --- API tokens -----------------------------------------------------------------------------


def create_token(capsys, *args) -> tuple[APIToken, str]:
    call_command("create_api_token", *args)
    raw = capsys.readouterr().out.strip()
    return APIToken.objects.get(prefix=raw[:10]), raw


def test_tokens_expire_after_the_default_or_given_days(make_user, capsys, settings):
    make_user("architect", "architect")
    settings.LANDKARTE_API_TOKEN_DAYS = 30
    token, _ = create_token(capsys, "architect")
    assert abs(token.expires - timezone.now() - datetime.timedelta(days=30)).total_seconds() < 60
    token, _ = create_token(capsys, "architect", "--days", "7", "--name", "backup script")
    assert abs(token.expires - timezone.now() - datetime.timedelta(days=7)).total_seconds() < 60
    assert token.name == "backup script"
    for days in ("0", "400"):
        with pytest.raises(CommandError, match="--days must be between 1 and 366"):
            call_command("create_api_token", "architect", "--days", days)
    assert kinds() == [Kind.TOKEN_CREATED, Kind.TOKEN_CREATED]


def test_expired_token_is_refused_with_401_and_a_clear_message(gql, architect):
    token, raw = APIToken.issue(architect, days=1)
    assert gql(ME, token=raw)[0] == 200
    APIToken.objects.filter(pk=token.pk).update(expires=timezone.now() - datetime.timedelta(1))
    status, body = gql(ME, token=raw)
    assert status == 401
    assert body["errors"][0]["message"].startswith("This API token expired on ")
    assert body["errors"][0]["extensions"]["code"] == "token_expired"
    refused = AuditEvent.objects.get(kind=Kind.TOKEN_REFUSED)
    assert (refused.user, refused.detail) == (architect, f"expired {token.prefix}")


@pytest.mark.parametrize(
    "case, message", [("unknown", "Invalid API token."), ("inactive", "disabled")]
)
def test_unknown_token_and_disabled_account_are_refused(gql, architect, case, message):
    _, raw = APIToken.issue(architect)
    if case == "unknown":
        raw = raw[:-3] + "abc"
    else:
        architect.is_active = False
        architect.save()
    status, body = gql(ME, token=raw)
    assert status == 401
    assert message in body["errors"][0]["message"]
    assert AuditEvent.objects.filter(kind=Kind.TOKEN_REFUSED, detail__startswith=case).exists()


def test_last_use_is_written_at_most_once_a_minute(gql, architect):
    token, raw = APIToken.issue(architect)
    for _ in range(3):
        status, body = gql(ME, token=raw)
        assert body["data"]["me"]["user"]["username"] == "architect"
    token.refresh_from_db()
    first_use = token.last_used
    assert first_use is not None
    assert AuditEvent.objects.filter(kind=Kind.TOKEN_USED).count() == 1
    # Two minutes later the next request writes again.
    earlier = first_use - datetime.timedelta(minutes=2)
    APIToken.objects.filter(pk=token.pk).update(last_used=earlier)
    gql(ME, token=raw)
    token.refresh_from_db()
    assert token.last_used > first_use
    used = AuditEvent.objects.filter(kind=Kind.TOKEN_USED)
    assert used.count() == 2
    assert {event.detail for event in used} == {token.prefix}


def test_revoke_by_prefix(gql, architect, capsys):
    token, raw = create_token(capsys, "architect")
    other, other_raw = create_token(capsys, "architect")
    call_command("revoke_api_token", token.prefix)
    assert "1 token(s) revoked." in capsys.readouterr().out
    status, body = gql(ME, token=raw)
    assert status == 401
    assert body["errors"][0]["message"] == "This API token has been revoked."
    assert gql(ME, token=other_raw)[0] == 200
    token.refresh_from_db()
    assert token.revoked and token.revoked_at is not None
    assert AuditEvent.objects.filter(kind=Kind.TOKEN_REVOKED, detail=token.prefix).count() == 1
    with pytest.raises(CommandError, match="revoked already"):
        call_command("revoke_api_token", token.prefix)
    with pytest.raises(CommandError, match="No API token"):
        call_command("revoke_api_token", "lk_doesnotexist")
    with pytest.raises(CommandError, match="Give more"):
        call_command("revoke_api_token", "lk_")
    with pytest.raises(CommandError, match="either"):
        call_command("revoke_api_token")


def test_revoke_all_tokens_of_a_user(gql, architect, requester):
    raws = [APIToken.issue(architect)[1] for _ in range(2)]
    _, kept = APIToken.issue(requester)
    call_command("revoke_api_token", "--user", "architect")
    assert [gql(ME, token=raw)[0] for raw in raws] == [401, 401]
    assert gql(ME, token=kept)[0] == 200
    assert AuditEvent.objects.filter(kind=Kind.TOKEN_REVOKED, user=architect).count() == 2


def test_admin_action_revokes_and_records_who(client, admin_user, architect, gql):
    token, raw = APIToken.issue(architect)
    client.force_login(admin_user)
    response = client.post(
        "/admin/landkarte/apitoken/",
        {"action": "revoke_tokens", "_selected_action": [token.pk]},
        follow=True,
    )
    assert "1 API token revoked." in response.content.decode()
    assert gql(ME, token=raw)[0] == 401
    event = AuditEvent.objects.get(kind=Kind.TOKEN_REVOKED)
    assert event.detail == f"{token.prefix} by admin"
    # Revocation is final: the change form does not offer it as a field.
    page = client.get(f"/admin/landkarte/apitoken/{token.pk}/change/").content.decode()
    assert 'name="revoked"' not in page


# --- headers --------------------------------------------------------------------------------


def test_pages_carry_a_strict_content_security_policy(client):
    response = client.get("/login/")
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self';" in policy
    assert "style-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy
    assert "cdn.jsdelivr.net" not in policy
    assert response["X-Frame-Options"] == "DENY"


def test_only_the_graphiql_page_admits_its_cdn_and_inline_script(client, architect):
    import base64
    import hashlib

    client.force_login(architect)
    response = client.get("/graphql/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    inline = re.search(r"<script type=\"application/javascript\">(.*?)</script>",
                       response.content.decode(), re.S).group(1)  # fmt: skip
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in policy
    assert "script-src 'self' https://cdn.jsdelivr.net 'sha256-" in policy
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    # A JSON answer of the same URL gets the strict policy.
    json_response = client.post("/graphql/", {"query": ME}, content_type="application/json")
    assert "cdn.jsdelivr.net" not in json_response["Content-Security-Policy"]
