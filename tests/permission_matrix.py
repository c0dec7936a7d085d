"""The permission matrix: every GraphQL root field, every mutation, every page and every export
against every role and anonymous users.

This is the single source of `docs/permissions.md` (`python -m tests.permission_matrix` prints
the document) and of `tests/test_permission_matrix.py`, which fails when the schema, the URL
conf or `importers.exports.EXPORTS` has an entry this module does not list (or the other way
round), and which exercises every cell.

Cells:
- read all: the role sees every row;
- read own scope: the role sees only its scope (requesters: the requirements of their offices
  and the incidents they raised; nested fields, counts and exports are narrowed the same way);
- change: the mutation passes the permission check (it may still refuse invalid input);
- change own: as "change", but only on the role's own objects (an incident the user raised, a
  requirement of the user's office); other objects are refused or "not found";
- refused: GraphQL answers `permission_denied` (mutations, `kpis`) or 401 (anonymous); pages
  answer 403 (anonymous: redirect to /login/); exports 403 (anonymous: redirect).
"""

from __future__ import annotations

ALL = "read all"
OWN = "read own scope"
CHANGE = "change"
CHANGE_OWN = "change own"
NO = "refused"

ROLES = ("service_desk", "change_manager", "architect", "procurement", "requester", "auditor")
ANONYMOUS = "anonymous"
COLUMNS = (*ROLES, ANONYMOUS)

_STAFF = ("service_desk", "change_manager", "architect", "procurement", "auditor")


def cells(default: str, anonymous: str = NO, **overrides: str) -> dict[str, str]:
    """A row: `default` for every role unless overridden; anonymous users are refused."""
    row = {role: overrides.pop(role, default) for role in ROLES}
    assert not overrides, f"unknown roles {overrides}"
    row[ANONYMOUS] = anonymous
    return row


def only(*roles: str, own: tuple[str, ...] = ()) -> dict[str, str]:
    """A mutation row: `roles` change, `own` change their own objects, the others are refused."""
    row = {role: CHANGE if role in roles else CHANGE_OWN if role in own else NO for role in ROLES}
    row[ANONYMOUS] = NO
    return row


READ = cells(ALL)
READ_OWN_FOR_REQUESTER = cells(ALL, requester=OWN)

# --- GraphQL root query fields (camelCase, as in the schema) ----------------------------------

QUERIES: dict[str, dict[str, str]] = {
    # cmdb
    "node": READ_OWN_FOR_REQUESTER,
    "orgUnits": READ,
    "orgUnit": READ,
    "teams": READ,
    "team": READ,
    "vendors": READ,
    "vendor": READ,
    "itComponents": READ,
    "itComponent": READ,
    "applications": READ,
    "application": READ,
    "interfaces": READ,
    "interface": READ,
    "dataObjects": READ,
    "services": READ,
    "service": READ,
    "softwarePackages": READ,
    "me": READ,
    # itsm
    "incidents": READ_OWN_FOR_REQUESTER,
    "incident": READ_OWN_FOR_REQUESTER,
    "problems": READ,
    "problem": READ,
    "requirements": READ_OWN_FOR_REQUESTER,
    "requirement": READ_OWN_FOR_REQUESTER,
    "changes": READ,
    "change": READ,
    "changeTemplates": READ,
    "freezeWindows": READ,
    "serviceLevels": READ,
    "changeConflicts": READ,
    "kpis": cells(ALL, requester=NO),
    "knownErrors": READ,
    # sourcing
    "criteriaCatalogues": READ,
    "criteriaCatalogue": READ,
    "assessments": READ,
    "assessment": READ,
    "procurementCases": READ,
    "procurementCase": READ,
    "sovereigntyRisk": READ,
    "sovereigntyRiskByOrgUnit": READ,
    "sovereignty": READ,
    # architecture
    "capabilities": READ,
    "capability": READ,
    "techCategories": READ,
    "technologyStandards": READ,
    "techRadar": READ,
    "architectureDecisions": READ,
    "architectureDecision": READ,
    "standardExceptions": READ,
    "impactAnalysis": READ_OWN_FOR_REQUESTER,
    "lifecycleAnalysis": READ,
    "lifecycleConflicts": READ,
    "landscapeAsOf": READ,
    "landscapeDiff": READ,
    "governanceFindings": READ,
    "governanceRules": READ,
}

QUERY_NOTES = {
    "node": "every type's own scope applies (incidents, incident events, requirements)",
    "impactAnalysis": "requesters: `openIncidents` lists only incidents they raised",
    "kpis": "aggregates over every incident: IT staff and auditors only",
    "problems": "nested `incidents` are narrowed to the reader's scope",
    "procurementCases": "nested `requirement` is null when the reader may not see it",
}

# --- mutations --------------------------------------------------------------------------------

_TICKET_WORKERS = ("service_desk",)
_CHANGE_EDITORS = ("service_desk", "change_manager", "architect")
_REPORTERS = ("service_desk", "change_manager", "architect", "procurement", "requester")

MUTATIONS: dict[str, dict[str, str]] = {
    # cmdb: architects
    "applicationCreate": only("architect"),
    "applicationUpdate": only("architect"),
    "interfaceCreate": only("architect"),
    # incidents: reported by anyone but auditors, worked by the service desk
    "incidentCreate": only("service_desk", own=_REPORTERS),
    "incidentAssign": only(*_TICKET_WORKERS),
    "incidentStartWork": only(*_TICKET_WORKERS),
    "incidentSetPending": only(*_TICKET_WORKERS),
    "incidentResolve": only(*_TICKET_WORKERS),
    "incidentReopen": only(*_TICKET_WORKERS, own=_REPORTERS),
    "incidentClose": only(*_TICKET_WORKERS, own=_REPORTERS),
    "incidentCancel": only(*_TICKET_WORKERS),
    "incidentChangePriority": only(*_TICKET_WORKERS),
    "incidentLinkProblem": only(*_TICKET_WORKERS),
    "incidentComment": only("service_desk", "change_manager", own=_REPORTERS),
    "incidentWorkNote": only("service_desk", "change_manager"),
    # problems
    "problemCreate": only("service_desk", "change_manager", "architect"),
    "problemInvestigate": only("service_desk", "change_manager", "architect"),
    "problemMarkKnownError": only("service_desk", "change_manager", "architect"),
    "problemResolve": only("service_desk", "change_manager", "architect"),
    "problemClose": only("service_desk", "change_manager", "architect"),
    "problemCancel": only("service_desk", "change_manager", "architect"),
    # changes
    "changeCreate": only(*_CHANGE_EDITORS),
    "changeUpdate": only(*_CHANGE_EDITORS),
    "changeSubmit": only(*_CHANGE_EDITORS),
    "changeAssess": only(*_CHANGE_EDITORS),
    "changeRequestAuthorization": only(*_CHANGE_EDITORS),
    "changeApprove": only("change_manager"),
    "changeReject": only("change_manager"),
    "changeSchedule": only(*_CHANGE_EDITORS),
    "changeStart": only(*_CHANGE_EDITORS),
    "changeComplete": only(*_CHANGE_EDITORS),
    "changeClose": only("change_manager"),
    "changeCancel": only(*_CHANGE_EDITORS),
    # requirements: offices submit, architects review, architects and change managers deliver
    "requirementSubmit": only("architect", own=("requester",)),
    "requirementUpdate": only("architect", own=("requester",)),
    "requirementReview": only("architect"),
    "requirementApprove": only("architect"),
    "requirementReject": only("architect"),
    "requirementReturn": only("architect"),
    "requirementWithdraw": only("architect", own=("requester",)),
    "requirementPlan": only("architect"),
    "requirementReplan": only("architect"),
    "requirementStartDelivery": only("architect", "change_manager"),
    "requirementComplete": only("architect", "change_manager"),
    "requirementLinkChange": only("architect", "change_manager"),
    "requirementUnlinkChange": only("architect", "change_manager"),
    # sourcing: procurement alone
    "assessmentStart": only("procurement"),
    "assessmentAnswer": only("procurement"),
    "assessmentSubmit": only("procurement"),
    "assessmentApprove": only("procurement"),
    "assessmentReturn": only("procurement"),
    "assessmentReassess": only("procurement"),
    "procurementCaseOpen": only("procurement"),
    "procurementCandidateAdd": only("procurement"),
    "procurementCasePublish": only("procurement"),
    "procurementCaseStartEvaluation": only("procurement"),
    "procurementCaseAward": only("procurement"),
    "procurementCaseCancel": only("procurement"),
    # architecture: architects
    "architectureDecisionRecord": only("architect"),
    "architectureDecisionAccept": only("architect"),
    "architectureDecisionReject": only("architect"),
    "architectureDecisionSupersede": only("architect"),
    "technologyStandardSet": only("architect"),
    "standardExceptionGrant": only("architect"),
    "capabilityCreate": only("architect"),
    "capabilitySupportSet": only("architect"),
}

MUTATION_NOTES = {
    "changeApprove": "for a high-risk change also members of an owning team (not auditors); "
    "never the person who requested the change",
    "changeReject": "as changeApprove",
    "incidentCreate": "others than the service desk report for themselves only",
    "incidentComment": "the caller comments on their own incident (not an auditor)",
    "incidentReopen": "the caller reopens their own resolved incident",
    "incidentClose": "the caller closes their own resolved incident",
    "requirementSubmit": "requesters: for an org unit of their teams or below",
    "requirementUpdate": "requesters: their office's requirement while it is submitted",
    "requirementWithdraw": "requesters: their office's requirement until delivery starts",
}

# --- pages (URL names) ------------------------------------------------------------------------


def page(*roles: str, own: tuple[str, ...] = (), form: bool = False) -> dict[str, str]:
    opened = CHANGE if form else ALL
    row = {role: opened if role in roles else OWN if role in own else NO for role in ROLES}
    row[ANONYMOUS] = NO
    return row


EVERY_ROLE = ROLES
STAFF_PAGE = page(*_STAFF)

PAGES: dict[str, dict[str, str]] = {
    "home": page(*EVERY_ROLE, own=()),
    "dashboard": STAFF_PAGE,
    # service desk
    "itsm:queue": STAFF_PAGE,
    "itsm:incident-new": page(*_REPORTERS, form=True),
    "itsm:my-incidents": cells(OWN),
    "itsm:application-search": page(*_REPORTERS),
    "itsm:incident-detail": page(*_STAFF, own=("requester",)),
    "itsm:problems": STAFF_PAGE,
    "itsm:problem-detail": STAFF_PAGE,
    "itsm:known-errors": STAFF_PAGE,
    # changes
    "itsm:changes": STAFF_PAGE,
    "itsm:change-calendar": STAFF_PAGE,
    "itsm:change-detail": STAFF_PAGE,
    "itsm:cab": page("change_manager", "architect", "auditor"),
    # requirements
    "itsm:requirements": page(*_STAFF, own=("requester",)),
    "itsm:requirement-new": page("architect", "requester", form=True),
    "itsm:backlog": STAFF_PAGE,
    "itsm:requirement-detail": page(*_STAFF, own=("requester",)),
    # architecture
    "architecture:applications": STAFF_PAGE,
    "architecture:application-detail": STAFF_PAGE,
    "architecture:component-detail": STAFF_PAGE,
    "architecture:impact": STAFF_PAGE,
    "architecture:findings": STAFF_PAGE,
    "architecture:radar": STAFF_PAGE,
    "architecture:capabilities": STAFF_PAGE,
    # sourcing
    "sourcing:vendors": STAFF_PAGE,
    "sourcing:vendor-detail": STAFF_PAGE,
    "sourcing:assessments": STAFF_PAGE,
    "sourcing:assessment-new": page("procurement", form=True),
    "sourcing:assessment-detail": STAFF_PAGE,
    "sourcing:assessment-edit": page("procurement", form=True),
    "sourcing:cases": STAFF_PAGE,
    "sourcing:case-detail": STAFF_PAGE,
    "sourcing:risk": STAFF_PAGE,
    "sourcing:risk-figures": STAFF_PAGE,
}

PAGE_NOTES = {
    "home": "requesters: their office's requirements and their own incidents, no key figures",
    "dashboard": "key figures count every incident: staff and auditors only",
    "itsm:my-incidents": "everybody sees the incidents they raised",
    "itsm:incident-detail": "requesters: incidents they raised (others: 404); work notes hidden",
    "itsm:requirement-detail": "requesters: their offices' requirements (others: 404)",
}

# --- exports (`/exports/<name>.csv|xlsx`) -----------------------------------------------------

EXPORTS: dict[str, dict[str, str]] = {
    "applications": READ,
    "vendors": READ,
    "org_units": READ,
    "teams": READ,
    "it_components": READ,
    "interfaces": READ,
    "services": READ,
    "incidents": READ_OWN_FOR_REQUESTER,
    "problems": READ,
    "changes": READ,
    "requirements": READ_OWN_FOR_REQUESTER,
    "assessments": READ,
    "procurement_cases": READ,
}

EXPORT_NOTES = {
    "incidents": "a parent incident the reader may not see is left blank",
    "procurement_cases": "a requirement the reader may not see is left blank",
}

SECTIONS = (
    ("GraphQL root fields", QUERIES, QUERY_NOTES, "`{}`"),
    ("GraphQL mutations", MUTATIONS, MUTATION_NOTES, "`{}`"),
    ("Pages (URL names)", PAGES, PAGE_NOTES, "`{}`"),
    ("Exports (`/exports/<name>.csv` or `.xlsx`)", EXPORTS, EXPORT_NOTES, "`{}`"),
)

SHORT = {ALL: "all", OWN: "own", CHANGE: "change", CHANGE_OWN: "own", NO: "–"}


def markdown_tables() -> str:
    """The tables of docs/permissions.md, generated from the data above."""
    header = "| | " + " | ".join(COLUMNS) + " | notes |"
    rule = "|---" * (len(COLUMNS) + 2) + "|"
    parts = []
    for title, rows, notes, fmt in SECTIONS:
        parts += [f"### {title}", "", header, rule]
        for name, row in rows.items():
            values = " | ".join(SHORT[row[column]] for column in COLUMNS)
            parts.append(f"| {fmt.format(name)} | {values} | {notes.get(name, '')} |")
        parts.append("")
    return "\n".join(parts)


BEGIN = "<!-- matrix: generated by `python -m tests.permission_matrix`; do not edit -->"
END = "<!-- end of matrix -->"

if __name__ == "__main__":
    print(BEGIN)
    print()
    print(markdown_tables())
    print(END)
