"""Exports give the rows of the GraphQL lists: same filters, same visibility."""

import csv
import datetime
import io

import openpyxl
import pytest
from django.core.management import call_command
from graphql_relay import to_global_id

from cmdb.factories import ApplicationFactory, OrgUnitFactory, VendorFactory
from cmdb.models import Application
from importers.exports import EXPORTS, ExportError, export_rows, write_csv, write_xlsx
from itsm.services import incidents as incident_service
from itsm.services import sla

pytestmark = pytest.mark.django_db


def gid(obj):
    return to_global_id(f"{type(obj).__name__}Type", obj.pk)


@pytest.fixture
def landscape(db):
    city = OrgUnitFactory(name="Stadt", code="STADT", kind="administration")
    dept = OrgUnitFactory(name="Dezernat II", code="DEZ2", kind="department", parent=city)
    office = OrgUnitFactory(name="Bürgeramt", code="AMT33", parent=dept)
    other = OrgUnitFactory(name="Kämmerei", code="AMT20", parent=city)
    vendor = VendorFactory(name="Dataport AöR", country="DE")
    ApplicationFactory(
        name="Einwohnermeldewesen", acronym="EWO", owner_org_unit=office, vendor=vendor,
        criticality="mission_critical", active_date=datetime.date(2020, 1, 1),
    )  # fmt: skip
    ApplicationFactory(name="Termine", owner_org_unit=office, criticality="business_critical")
    ApplicationFactory(name="Dezernatsportal", owner_org_unit=dept, criticality="mission_critical")
    ApplicationFactory(name="Finanzwesen", owner_org_unit=other, criticality="mission_critical")
    return {"city": city, "dept": dept, "office": office, "other": other}


def graphql_names(gql, user, arguments: str) -> list[str]:
    status, body = gql(
        f"{{ applications(first: 100 {arguments}) {{ edges {{ node {{ name }} }} }} }}", user=user
    )
    assert status == 200 and "errors" not in body, body
    return [e["node"]["name"] for e in body["data"]["applications"]["edges"]]


def exported_names(user, filters) -> list[str]:
    headers, rows = export_rows("applications", user=user, filters=filters)
    return [row[headers.index("name")] for row in rows]


@pytest.mark.parametrize(
    "arguments, filters",
    [
        ("", {}),
        ('criticality: ["mission_critical"]', {"criticality": ["mission_critical"]}),
        ("orgUnit: [$dept]", {"org_unit": ["$dept"]}),
        (
            'orgUnit: [$dept], criticality: ["mission_critical"], orderBy: "-name"',
            {"orgUnit": "$dept", "criticality": "mission_critical", "order_by": "-name"},
        ),
        ('search: "wesen"', {"search": "wesen"}),
    ],
)
def test_application_filters_give_the_graphql_rows(gql, architect, landscape, arguments, filters):
    dept = gid(landscape["dept"])
    arguments = arguments.replace("$dept", f'"{dept}"')
    filters = {
        k: ([dept if x == "$dept" else x for x in v] if isinstance(v, list) else
            (dept if v == "$dept" else v))
        for k, v in filters.items()
    }  # fmt: skip
    expected = graphql_names(gql, architect, arguments)
    assert exported_names(architect, filters) == expected
    if "orgUnit" in arguments:
        assert "Finanzwesen" not in expected and "Dezernatsportal" in expected


def test_plain_primary_keys_work_like_relay_ids(architect, landscape):
    by_gid = exported_names(architect, {"org_unit": [gid(landscape["office"])]})
    by_pk = exported_names(architect, {"org_unit": str(landscape["office"].pk)})
    assert by_gid == by_pk == ["Einwohnermeldewesen", "Termine"]


def test_unknown_filter_is_refused(architect, landscape):
    with pytest.raises(ExportError, match="Unknown filter"):
        export_rows("applications", user=architect, filters={"colour": "red"})


def test_headers_are_model_field_names_and_fks_natural_keys(architect, landscape):
    headers, rows = export_rows(
        "applications", user=architect, filters={"search": "Einwohnermeldewesen"}
    )
    field_names = {f.name for f in Application._meta.get_fields()}
    assert set(headers) <= field_names
    row = dict(zip(headers, rows[0], strict=True))
    assert row["owner_org_unit"] == "AMT33"
    assert row["vendor"] == "Dataport AöR"
    assert row["criticality"] == "mission_critical"
    assert row["active_date"] == datetime.date(2020, 1, 1)


def test_every_export_runs_with_bounded_queries(
    architect, landscape, django_assert_max_num_queries
):
    assert {"applications", "vendors", "org_units", "teams", "it_components", "interfaces",
            "services", "incidents", "problems", "changes", "requirements", "assessments",
            "procurement_cases"} <= set(EXPORTS)  # fmt: skip
    for name in EXPORTS:
        with django_assert_max_num_queries(12):
            headers, rows = export_rows(name, user=architect, filters={})
        assert headers


def test_users_without_a_role_get_nothing(make_user, landscape):
    nobody = make_user("nobody")
    assert export_rows("applications", user=nobody, filters={})[1] == []


def test_requester_exports_only_their_own_incidents(make_user):
    sla.ensure_default_calendar()
    requester = make_user("req", "requester")
    desk = make_user("desk", "service_desk")
    incident_service.open_incident(user=requester, title="My printer", impact="low", urgency="low")
    incident_service.open_incident(user=desk, title="Somebody else's", impact="low", urgency="low")
    headers, rows = export_rows("incidents", user=requester, filters={})
    assert [row[headers.index("title")] for row in rows] == ["My printer"]
    assert [row[headers.index("caller")] for row in rows] == ["req"]
    _, rows = export_rows("incidents", user=desk, filters={})
    assert len(rows) == 2


def test_csv_has_bom_and_field_name_headers():
    stream = io.BytesIO()
    write_csv(["name", "active_date"], [["Bürgeramt, Termine", datetime.date(2026, 1, 2)]], stream)
    data = stream.getvalue()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [["name", "active_date"], ["Bürgeramt, Termine", "2026-01-02"]]


def test_xlsx_opens_with_header_row_and_dates(tmp_path):
    path = tmp_path / "out.xlsx"
    write_xlsx(["name", "active_date"], [["EWO", datetime.date(2026, 1, 2)]], path)
    sheet = openpyxl.load_workbook(path).active
    assert [c.value for c in sheet[1]] == ["name", "active_date"]
    assert sheet["A1"].font.bold
    assert sheet["B2"].value == datetime.datetime(2026, 1, 2)  # Excel stores dates as datetimes
    assert sheet["B2"].is_date


def test_anonymous_is_sent_to_login(client, landscape):
    response = client.get("/exports/applications.csv")
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_user_without_role_is_forbidden(client, make_user):
    client.force_login(make_user("nobody"))
    assert client.get("/exports/applications.csv").status_code == 403


def test_unknown_export_is_404(client, architect):
    client.force_login(architect)
    assert client.get("/exports/passwords.csv").status_code == 404


def test_csv_download_with_filters_from_query_string(client, architect, landscape):
    client.force_login(architect)
    office, other = gid(landscape["office"]), gid(landscape["other"])
    response = client.get(
        f"/exports/applications.csv?orgUnit={office}&org_unit={other}&criticality=mission_critical"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    today = datetime.date.today().isoformat()
    assert 'filename="applications-' in response["Content-Disposition"]
    assert response["Content-Disposition"].endswith('.csv"')
    assert today[:4] in response["Content-Disposition"]
    text = response.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and set(rows[0]) == set(EXPORTS["applications"].headers)
    # orgUnit and org_unit are the same filter; the last one given wins in the query dict.
    assert [r["name"] for r in rows] in (["Einwohnermeldewesen"], ["Finanzwesen"])


def test_repeated_params_are_lists_and_xlsx_download(client, architect, landscape):
    client.force_login(architect)
    response = client.get(
        "/exports/applications.csv?format=xlsx&criticality=mission_critical"
        "&criticality=business_critical&order_by=name"
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.xlsx"')
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    headers = [c.value for c in sheet[1]]
    assert headers == EXPORTS["applications"].headers
    names = [row[headers.index("name")] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert names == ["Dezernatsportal", "Einwohnermeldewesen", "Finanzwesen", "Termine"]


def test_bad_filter_value_is_400(client, architect, landscape):
    client.force_login(architect)
    assert client.get("/exports/applications.csv?criticality=purple").status_code == 400


def test_command_writes_files(tmp_path, landscape, make_user):
    make_user("anna", "architect")
    out = tmp_path / "apps.csv"
    call_command(
        "export_list", "applications", "--format", "csv", "--output", str(out),
        "--filter", "criticality=mission_critical", "--filter", "criticality=business_critical",
        "--filter", f"org_unit={landscape['office'].pk}", "--as-user", "anna",
        stdout=io.StringIO(),
    )  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert [r["name"] for r in rows] == ["Einwohnermeldewesen", "Termine"]
    xlsx = tmp_path / "apps.xlsx"
    call_command("export_list", "vendors", "--output", str(xlsx), stdout=io.StringIO())
    sheet = openpyxl.load_workbook(xlsx).active
    assert [c.value for c in sheet[1]][:2] == ["created", "updated"] or sheet.max_row == 2


@pytest.fixture
def full_landscape(landscape):
    from cmdb.factories import InterfaceFactory, ITComponentFactory, TeamFactory

    dataport = VendorFactory(name="Dataport Holding", country="DE")
    VendorFactory(name="Dataport Süd", country="DE", parent=dataport)
    team = TeamFactory(name="Fachverfahren", org_unit=landscape["office"])
    ITComponentFactory(name="PostgreSQL", version="16", vendor=None, is_open_source=True,
                       end_of_life=datetime.date(2028, 11, 9))  # fmt: skip
    ewo = Application.objects.get(acronym="EWO")
    ewo.owner_team = team
    ewo.personal_data = True
    ewo.functional_fit = 3
    ewo.save()
    termine = Application.objects.get(name="Termine")
    InterfaceFactory(name="Meldedaten", provider=ewo, consumers=[termine])
    return landscape


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize(
    "name", ["applications", "vendors", "org_units", "teams", "it_components", "interfaces"]
)
def test_export_reimports_unchanged(tmp_path, architect, full_landscape, name, fmt):
    from importers.tabular import TabularImporter

    headers, rows = export_rows(name, user=architect, filters={})
    assert rows
    path = tmp_path / f"{name}.{fmt}"
    if fmt == "csv":
        with open(path, "wb") as stream:
            write_csv(headers, rows, stream)
    else:
        write_xlsx(headers, rows, path)
    result = TabularImporter(name, path, user=architect, dry_run=True).execute()
    assert not result.errors, [str(e) for e in result.errors]
    assert (result.created, result.updated, result.unchanged) == (0, 0, len(rows)), result.summary()


def test_query_count_does_not_grow_with_rows(architect):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cmdb.factories import InterfaceFactory

    def counts():
        result = {}
        for name in ("applications", "interfaces", "services"):
            with CaptureQueriesContext(connection) as ctx:
                export_rows(name, user=architect, filters={})
            result[name] = len(ctx.captured_queries)
        return result

    def grow(n):
        apps = [ApplicationFactory(vendor=VendorFactory()) for _ in range(n)]
        for i, app in enumerate(apps):
            InterfaceFactory(provider=app, consumers=[apps[(i + 1) % n], apps[(i + 2) % n]])

    grow(3)
    counts()  # the first call also reads the user's roles (then cached on the user)
    small = counts()
    grow(12)
    big = counts()
    assert big == small
