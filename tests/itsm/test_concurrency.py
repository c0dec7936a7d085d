"""Two writers on one incident from two database connections: one wins, the other is told."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction

from cmdb.factories import TeamFactory
from itsm.models import Incident
from itsm.services import incidents as svc
from itsm.services import sla


@pytest.mark.django_db(transaction=True)
def test_concurrent_updates_one_wins_the_other_gets_a_conflict(make_user):
    sla.ensure_default_calendar()
    desk = make_user("desk", "service_desk")
    agent = make_user("agent", "service_desk")
    team = TeamFactory(members=[agent, desk])
    incident = svc.open_incident(user=desk, title="VPN down", impact="high", urgency="high")
    svc.assign_incident(incident, user=desk, team=team, assignee=agent)
    read_version = Incident.objects.get(pk=incident.pk).version  # both writers read this

    if connection.vendor != "postgresql":
        # SQLite serialises whole-database writes: the writers cannot overlap, so they run
        # one after the other with the version both of them read.
        svc.set_pending(incident, user=agent, reason="awaiting_caller",
                        expected_version=read_version)  # fmt: skip
        with pytest.raises(ValidationError) as exc:
            svc.cancel_incident(incident, user=desk, reason="dup", expected_version=read_version)
        assert exc.value.error_dict["version"][0].code == "conflict"
    else:
        first_locked, release_first = threading.Event(), threading.Event()
        outcome = {}

        def first_writer():
            try:
                with transaction.atomic():
                    locked = Incident.objects.select_for_update().get(pk=incident.pk)
                    first_locked.set()
                    # Hold the row lock until the second writer is waiting for it.
                    release_first.wait(10)
                    svc.set_pending(locked, user=agent, reason="awaiting_caller",
                                    expected_version=read_version)  # fmt: skip
                outcome["first"] = "ok"
            except Exception as exc:  # pragma: no cover - reported below
                outcome["first"] = repr(exc)
            finally:
                connections.close_all()

        def second_writer():
            first_locked.wait(10)
            try:
                svc.cancel_incident(incident, user=desk, reason="duplicate",
                                    expected_version=read_version)  # fmt: skip
                outcome["second"] = "ok"
            except ValidationError as exc:
                outcome["second"] = exc.error_dict["version"][0].code
            finally:
                connections.close_all()

        threads = [threading.Thread(target=first_writer), threading.Thread(target=second_writer)]
        for thread in threads:
            thread.start()
        first_locked.wait(10)
        # Give the second writer time to block on the row lock, then let the first commit.
        threading.Event().wait(0.5)
        release_first.set()
        for thread in threads:
            thread.join(20)
        assert outcome == {"first": "ok", "second": "conflict"}

    final = Incident.objects.get(pk=incident.pk)
    assert final.state == "pending"
    assert final.version == read_version + 1
    assert final.history.first().history_change_reason == "pending: awaiting_caller"
