"""The admin's evidence lists at scale (aura_project.admin_scale): a page view runs a fixed number of queries
whatever the rows, never counts or scans a whole table, pages deep by seeking, and still shows what Django's
own changelist showed."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib import admin
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aura_project import admin_scale
from governance.models import AuditRecord, DisciplinaryAction, Incident, Penalty, Policy, ScoreRecord
from workforce.models import Event, Task, Worker

pytestmark = pytest.mark.django_db

ROWS = 20
START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
BIG_LISTS = [AuditRecord, Incident, DisciplinaryAction, ScoreRecord, Penalty, Event]


def changelist(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


@pytest.fixture
def director_client(director) -> Client:
    client = Client()
    client.force_login(director)
    return client


@pytest.fixture
def evidence(director) -> dict[type, list]:
    """ROWS rows of each big list, each naming its own worker and task, so a related row read per listed row
    (an N+1) would add ROWS queries to a page."""
    made: dict[type, list] = {model: [] for model in BIG_LISTS}
    previous_action = None
    for i in range(ROWS):
        at = START + timedelta(hours=i)
        worker = Worker.objects.create(model_id=f"prov/model-{i}", name=f"Model {i}", provider="prov")
        task = Task.objects.create(task_id=f"task-{i}", capability="code", current_worker=worker)
        incident = Incident.objects.create(
            worker=worker,
            task=task,
            severity=1 + i % 4,
            status=Incident.Status.ACTIONED,
            violations=[["hallucination", 3]],
            evidence=[],
            settings_version=1,
            reported_at=at,
        )
        made[Incident].append(incident)
        made[AuditRecord].append(
            AuditRecord.objects.create(
                report_id=f"report-{i}",
                request_hash="0" * 64,
                task=task,
                worker=worker,
                outcome=AuditRecord.Outcome.VIOLATION,
                hallucinated=True,
                incident=incident,
                settings_version=1,
                received_at=at,
            )
        )
        action = DisciplinaryAction.objects.create(
            worker=worker,
            incident=incident,
            action="OVERTURN" if previous_action else "WARNING",
            overturns=previous_action,
            reason="first hallucination",
            actor_kind=DisciplinaryAction.Actor.DIRECTOR,
            actor=director,
            policy_version=1,
            created_at=at,
        )
        previous_action = None if previous_action else action
        made[DisciplinaryAction].append(action)
        made[ScoreRecord].append(
            ScoreRecord.objects.create(
                worker=worker,
                score=70,
                previous_reputation=60,
                reputation=63,
                action="NONE",
                applied_action="NONE",
                metrics={},
                settings_version=1,
                created_at=at,
            )
        )
        made[Penalty].append(
            Penalty.objects.create(
                worker=worker,
                incident=incident,
                reason="hallucination",
                severity=3,
                points=-30,
                settings_version=1,
                created_at=at,
            )
        )
        made[Event].append(
            Event.objects.create(kind=Event.Kind.INCIDENT_OPENED, model_id=worker.model_id, created_at=at)
        )
    return made


def _listed(response) -> list[str]:
    """The primary keys of the rows a changelist page shows, in order (from each row's link to its page)."""
    # unfold draws each row in its own <tbody>: the rows lie between the first one and the table's end.
    table = response.content.decode().partition("<tbody")[2].partition("</table>")[0]
    return re.findall(r'<a href="/admin/\w+/\w+/([^/]+)/change/', table)


def _link(response, css_class: str) -> str | None:
    found = re.search(rf'href="(\?[^"]*)" class="{css_class}[" ]', response.content.decode())
    return found.group(1).replace("&amp;", "&") if found else None


# --- A fixed number of queries per page ------------------------------------------------------------------


# Session, user, the Director's groups, the filters' policy values, the bounded count, the date range, the
# hierarchy's probes, the page: none of them per row.
MAX_QUERIES = 12


@pytest.mark.parametrize("model", BIG_LISTS, ids=lambda model: model.__name__)
@pytest.mark.parametrize("query", ["", "?{date}__year=2025&{date}__month=3", "?_facets=True"])
def test_a_list_page_runs_the_same_few_queries_for_twenty_rows(
    director_client, evidence, django_assert_max_num_queries, model, query
):
    query = query.format(date=admin.site._registry[model].date_hierarchy)

    with django_assert_max_num_queries(MAX_QUERIES):
        response = director_client.get(changelist(model) + query)

    assert response.status_code == 200
    assert len(_listed(response)) == ROWS


def test_a_page_deeper_than_the_first_runs_the_same_few_queries(
    director_client, evidence, django_assert_max_num_queries, monkeypatch
):
    monkeypatch.setattr(admin.site._registry[Incident], "list_per_page", 5)

    with django_assert_max_num_queries(MAX_QUERIES):
        response = director_client.get(changelist(Incident) + "?p=3")

    assert _listed(response) == [str(i.pk) for i in evidence[Incident][::-1][10:15]]


@pytest.mark.parametrize("model", [Incident, Worker], ids=lambda model: model.__name__)
def test_a_history_page_of_twenty_versions_runs_a_few_queries(
    director, director_client, evidence, django_assert_max_num_queries, model
):
    obj = evidence[Incident][0] if model is Incident else evidence[Incident][0].worker
    for i in range(ROWS if model is Worker else 0):  # versions by different users, as the Director's edits are
        obj._history_user = type(director).objects.create_user(f"editor-{i}")
        obj.name = f"renamed {i}"
        obj.save()

    with django_assert_max_num_queries(MAX_QUERIES):
        response = director_client.get(
            reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_history", args=[obj.pk])
        )

    assert response.status_code == 200
    assert response.content.decode().count("renamed ") >= (ROWS if model is Worker else 0)


# --- Seeking past the numbered pages ---------------------------------------------------------------------


@pytest.fixture
def small_caps(monkeypatch):
    """A count cap and an OFFSET bound small enough for twenty rows to go past them, five rows a page."""
    monkeypatch.setattr(admin_scale, "COUNT_CAP", 8)
    monkeypatch.setattr(admin_scale, "MAX_OFFSET", 10)
    for model in BIG_LISTS:
        monkeypatch.setattr(admin.site._registry[model], "list_per_page", 5)


@pytest.mark.parametrize("model", BIG_LISTS, ids=lambda model: model.__name__)
def test_next_walks_every_row_once_in_the_lists_order_past_the_numbered_pages(
    director_client, evidence, small_caps, model
):
    ordering = admin.site._registry[model].ordering or model._meta.ordering
    expected = [str(pk) for pk in model.objects.order_by(*ordering).values_list("pk", flat=True)]

    first = director_client.get(changelist(model))
    seen, pages, response = _listed(first), [_listed(first)], first
    while link := _link(response, "aura-next"):
        assert "_after=" in link and "p=" not in link
        response = director_client.get(changelist(model) + link)
        pages.append(_listed(response))
        seen += pages[-1]

    assert seen == expected
    assert [len(page) for page in pages] == [5, 5, 5, 5]
    assert "8+" in first.content.decode()  # the count stopped at the cap


def test_rows_with_the_same_time_are_neither_skipped_nor_repeated(director_client, evidence, small_caps):
    first = evidence[Incident][0]
    for _ in range(7):  # a page and a half reported in the same microsecond as the first incident
        Incident.objects.create(
            worker=first.worker,
            task=first.task,
            severity=1,
            violations=[],
            evidence=[],
            settings_version=1,
            reported_at=first.reported_at,
        )
    expected = [str(pk) for pk in Incident.objects.values_list("pk", flat=True)]

    response = director_client.get(changelist(Incident))
    seen = _listed(response)
    while link := _link(response, "aura-next"):
        response = director_client.get(changelist(Incident) + link)
        seen += _listed(response)

    assert seen == expected


def test_previous_goes_back_a_page_and_first_to_the_start(director_client, evidence, small_caps):
    newest_first = [str(i.pk) for i in evidence[Incident][::-1]]
    second = director_client.get(changelist(Incident) + _link(director_client.get(changelist(Incident)), "aura-next"))
    third = director_client.get(changelist(Incident) + _link(second, "aura-next"))

    back = director_client.get(changelist(Incident) + _link(third, "aura-previous"))
    start = director_client.get(changelist(Incident) + _link(third, "aura-first"))

    assert _listed(third) == newest_first[10:15]
    assert _listed(back) == newest_first[5:10]
    assert _listed(start) == newest_first[:5]


def test_previous_from_the_second_page_shows_the_first_page_whole(director_client, evidence, small_caps):
    second = director_client.get(changelist(Incident) + "?p=2")
    assert _link(second, "aura-previous") is None  # numbered pages go back by number

    seek = director_client.get(changelist(Incident) + _link(second, "aura-next"))
    back = director_client.get(changelist(Incident) + _link(seek, "aura-previous"))
    again = director_client.get(changelist(Incident) + _link(back, "aura-previous"))

    assert len(_listed(again)) == 5 and _link(again, "aura-previous") is None


def test_seeking_keeps_the_filters_and_a_filter_link_starts_again(director_client, evidence, small_caps):
    response = director_client.get(changelist(Incident) + "?severity=1")
    link = _link(response, "aura-next")
    assert link is None  # five incidents of severity 1: one page

    response = director_client.get(changelist(Incident) + "?status__exact=ACTIONED")
    link = _link(response, "aura-next")
    seek = director_client.get(changelist(Incident) + link)
    body = seek.content.decode()

    assert "status__exact=ACTIONED" in link
    assert re.search(r'href="\?[^"]*_after', body)  # Next goes on from here...
    assert not re.search(r'href="\?[^"]*status__exact=OPEN[^"]*_after', body)  # ...a filter starts again


def test_a_page_number_past_the_bound_sends_the_director_back_with_a_note(director_client, evidence, small_caps):
    response = director_client.get(changelist(Incident) + "?p=3", follow=True)

    assert response.redirect_chain[0][0].endswith("?e=1")
    assert "past the numbered pages" in response.content.decode()


def test_a_forged_seek_key_is_refused_like_any_bad_parameter(director_client, evidence):
    response = director_client.get(changelist(Incident) + "?_after=not-a-key")

    assert response.status_code == 302 and response["Location"].endswith("?e=1")


# --- What the page shows ---------------------------------------------------------------------------------


def test_the_date_hierarchy_offers_only_periods_with_rows(director_client, evidence):
    incident = evidence[Incident][0]
    for at in (datetime(2024, 12, 31, 23, tzinfo=UTC), datetime(2025, 1, 15, tzinfo=UTC)):
        Incident.objects.create(
            worker=incident.worker,
            task=incident.task,
            severity=1,
            violations=[],
            evidence=[],
            settings_version=1,
            reported_at=at,
        )

    years = director_client.get(changelist(Incident)).content.decode()
    months = director_client.get(changelist(Incident) + "?reported_at__year=2025").content.decode()
    days = director_client.get(changelist(Incident) + "?reported_at__year=2025&reported_at__month=3").content.decode()

    assert re.findall(r"reported_at__year=(\d+)\"", years) == ["2024", "2025"]
    assert re.findall(r"reported_at__month=(\d+)&amp;reported_at__year=2025\"", months) == ["1", "3"]
    assert re.findall(r"reported_at__day=(\d+)&amp;", days) == ["1", "2"]  # twenty hours from noon on March 1st


def test_the_severity_filter_offers_the_policies_severities(director_client, evidence):
    Policy.objects.filter(violation_type="timeout").update(severity=5)

    body = director_client.get(changelist(Incident)).content.decode()

    assert re.findall(r'href="\?severity=(\d+)"', body) == ["1", "2", "3", "4", "5"]


def test_columns_sort_only_where_an_index_orders_them(director_client, evidence):
    body = director_client.get(changelist(Incident)).content.decode()
    columns = list(admin.site._registry[Incident].list_display)
    severity_column = columns.index("severity") + 1  # after the checkbox
    reported_column = columns.index("reported_at") + 1

    sorted_by_severity = director_client.get(changelist(Incident) + f"?o={severity_column}")

    # unfold's header links a sortable column's title to its ?o= and leaves the others plain.
    headers = body.partition("<thead>")[2].partition("</thead>")[0]
    assert re.search(rf'href="\?o=-?{reported_column}[".]', headers)
    assert not re.search(rf'href="\?o=-?{severity_column}[".]', headers)
    assert _listed(sorted_by_severity) == [str(i.pk) for i in evidence[Incident][::-1]]  # the ?o= is ignored


# --- The SQL of the incident list on PostgreSQL ----------------------------------------------------------


def _incident_sql(queries) -> list[str]:
    return [q["sql"] for q in queries if "governance_incident" in q["sql"]]


@pytest.mark.postgres
def test_the_incident_list_never_counts_or_scans_the_whole_table(director_client, evidence, small_caps):
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE governance_incident")  # the planner's estimate the count falls back on
    pages = [
        "",
        "?status__exact=ACTIONED",
        "?severity=2",
        "?reported_at__year=2025",
        "?reported_at__year=2025&reported_at__month=3",
        "?p=2",
    ]
    with CaptureQueriesContext(connection) as captured:
        responses = [director_client.get(changelist(Incident) + page) for page in pages]
        deep = [director_client.get(changelist(Incident) + _link(responses[-1], "aura-next"))]
        while link := _link(deep[-1], "aura-next"):
            deep.append(director_client.get(changelist(Incident) + link))
    sql = _incident_sql(captured.captured_queries)

    assert all(r.status_code == 200 for r in responses + deep)
    assert "~20 incidents" in responses[0].content.decode()  # unfiltered: the estimate, not a COUNT(*)
    assert "8+ incidents" in responses[1].content.decode()  # filtered: counted up to the cap
    assert not [s for s in sql if "DISTINCT" in s.upper()]
    counts = [s for s in sql if "COUNT(" in s.upper()]
    assert counts and all(re.search(r"\bLIMIT 9\b", s) for s in counts)  # at most COUNT_CAP + 1 rows, ever
    offsets = [int(n) for s in sql for n in re.findall(r"\bOFFSET (\d+)", s)]
    assert offsets and max(offsets) <= 10 - 5  # numbered pages skip at most MAX_OFFSET - a page
    seeks = _incident_sql([q for q in captured.captured_queries if 'reported_at" <' in q["sql"]])
    assert seeks and not [s for s in seeks if "OFFSET" in s]  # deep pages seek from a row


@pytest.mark.postgres
def test_the_date_hierarchy_probes_walk_the_dates_index_on_a_table_written_in_time_order(director_client, evidence):
    """Regression: each month's probe was an EXISTS with LIMIT 1, for which PostgreSQL drops the ORDER BY and, over
    a month it expects to hold thousands of rows, chose a sequential scan. On a table written in time order that
    scan read every older row first: 550 ms a view at 1,000,000 incidents. Ordered scalar probes walk the index."""
    incident = evidence[Incident][0]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO governance_incident (id, worker_id, task_id, severity, status, violations, evidence,"
            " settings_version, reported_at, actor_label)"
            " SELECT gen_random_uuid(), %s, %s, 2, 'CLOSED', '[[\"timeout\", 2]]', '[]', 1,"
            " timestamptz '2025-02-01' + (g * interval '1 minute'), 'test:bulk'"
            " FROM generate_series(1, 80000) AS g",  # February and March, densely: a month probe expects ~40,000 rows
            [incident.worker_id, incident.task_id],
        )
        cursor.execute("ANALYZE governance_incident")
        # As on a table just written and not yet vacuumed: no index-only scans (its rows are not all-visible).
        cursor.execute("SET LOCAL enable_indexonlyscan = off")
    with CaptureQueriesContext(connection) as captured:
        assert director_client.get(changelist(Incident) + "?reported_at__year=2025").status_code == 200
    probes = [q["sql"] for q in captured.captured_queries if q["sql"].count("LIMIT 1") >= 12]  # a probe a month
    assert probes, "the month probes ran"
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + probes[0])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Seq Scan" not in plan and "governance_incident_time_idx" in plan
