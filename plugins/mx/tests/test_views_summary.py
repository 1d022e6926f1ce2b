"""The session summary (filters, ranking, sorting, CSV) and the Table 1 / mmCIF downloads."""

from __future__ import annotations

import csv
import importlib.util
import io

import pytest
from django.apps import apps
from django.urls import reverse
from test_views import collection, queries, run

from mmcat.dictionary import sync_parameter_types
from mmcat.models import Dataset
from mmcat.testing import PersonFactory, SampleFactory, SessionFactory, web_client

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not apps.is_installed("mmcat_mx"),
                       reason="the mx plugin is not enabled (MMCAT_PLUGINS)"),
]


@pytest.fixture(autouse=True)
def dictionary():
    sync_parameter_types()


@pytest.fixture
def browser(member):
    return web_client(member)


@pytest.fixture
def outsider():
    return web_client(PersonFactory())


HAS_TABLE1 = importlib.util.find_spec("mmcat_mx.table1") is not None
HAS_MMCIF = importlib.util.find_spec("mmcat_mx.mmcif") is not None


@pytest.fixture
def shift(session):
    """Two crystals, three pipelines each, one failed and one running run."""
    a = SampleFactory(proposal=session.proposal, name="A1", component="lyso")
    b = SampleFactory(proposal=session.proposal, name="B2", component="lyso")
    ca, cb = collection(session, "A1_1", sample=a), collection(session, "B2_1", sample=b)
    runs = {
        "a_xia2": run([ca], "xia2 3dii", outer={"resolution_high": 1.9, "cc_half": 0.70},
                      overall={"completeness": 99.9, "r_meas": 0.05, "cc_half": 0.999,
                               "i_over_sigma": 15.0}),
        "a_ap": run([ca], "autoPROC", outer={"resolution_high": 1.6, "cc_half": 0.40},
                    overall={"completeness": 97.0, "r_meas": 0.09, "cc_half": 0.995,
                             "i_over_sigma": 9.0}),
        "a_fail": run([ca], "fast_dp", status="failed"),
        "b_xia2": run([cb], "xia2 dials", space_group="C 2 2 21",
                      outer={"resolution_high": 2.4, "cc_half": 0.80},
                      overall={"completeness": 88.0, "r_meas": 0.12, "cc_half": 0.990,
                               "i_over_sigma": 20.0}),
        "b_run": run([cb], "autoPROC", status="running"),
    }
    return runs


def order(html):
    rows = []
    for part in html.split('<tr id="mx-row-')[1:]:
        rows.append(int(part[:part.index('"')]))
    return rows


def best(html):
    return {int(p[:p.index('"')]) for p in html.split('<tr id="mx-row-')[1:]
            if 'data-best="true"' in p[:p.index(">")]}


def test_summary_ranks_by_outer_resolution_by_default(browser, session, shift):
    url = reverse("mx:session-summary", args=[session.pk])
    html = browser.get(url).content.decode()
    r = shift
    assert order(html) == [r["a_ap"].pk, r["a_xia2"].pk, r["b_xia2"].pk, r["b_run"].pk,
                           r["a_fail"].pk]
    assert best(html) == {r["a_ap"].pk, r["b_xia2"].pk}
    assert "99.9<br><span class=\"mx-outer\">(98.0)</span>" in html  # overall (outer)
    assert '<th scope="col" aria-sort="ascending" class="num"><a href="?sort=-rank"' in html


@pytest.mark.parametrize(("shell", "criterion", "first"), [
    ("overall", "cc_half", "a_xia2"),
    ("outer", "cc_half", "b_xia2"),
    ("overall", "i_over_sigma", "b_xia2"),
    ("overall", "completeness", "a_xia2"),
    ("overall", "r_meas", "a_xia2"),
    ("outer", "resolution", "a_ap"),
])
def test_ranking_choice(browser, session, shift, shell, criterion, first):
    url = reverse("mx:session-summary", args=[session.pk])
    html = browser.get(url, {"shell": shell, "rank_by": criterion}).content.decode()
    assert order(html)[0] == shift[first].pk
    assert order(html)[-1] == shift["a_fail"].pk  # failed runs last, whatever the criterion
    assert f'<option value="{criterion}" selected>' in html


def test_best_run_per_sample_follows_the_criterion(browser, session, shift):
    url = reverse("mx:session-summary", args=[session.pk])
    html = browser.get(url, {"shell": "outer", "rank_by": "cc_half"}).content.decode()
    assert best(html) == {shift["a_xia2"].pk, shift["b_xia2"].pk}


def test_higher_symmetry_breaks_ties(browser, session):
    c = collection(session)
    low = run([c], "p1", space_group="P 1 21 1", outer={"resolution_high": 2.0})
    high = run([c], "p422", space_group="P 43 21 2", outer={"resolution_high": 2.0})
    html = browser.get(reverse("mx:session-summary", args=[session.pk])).content.decode()
    assert order(html)[:2] == [high.pk, low.pk]


def test_filters(browser, session, shift):
    url = reverse("mx:session-summary", args=[session.pk])
    r = shift
    html = browser.get(url, {"max_resolution": "2.0"}).content.decode()
    assert set(order(html)) == {r["a_ap"].pk, r["a_xia2"].pk}
    html = browser.get(url, {"min_completeness": "98"}).content.decode()
    assert set(order(html)) == {r["a_xia2"].pk}
    html = browser.get(url, {"max_rmeas": "0.1"}).content.decode()
    assert set(order(html)) == {r["a_xia2"].pk, r["a_ap"].pk}
    html = browser.get(url, {"min_cc_half": "0.996"}).content.decode()
    assert set(order(html)) == {r["a_xia2"].pk}
    html = browser.get(url, {"space_group": "c2221"}).content.decode()
    assert set(order(html)) == {r["b_xia2"].pk}
    html = browser.get(url, {"space_group": "C 2 2 21"}).content.decode()
    assert set(order(html)) == {r["b_xia2"].pk}


def test_bad_filter_names_the_field_and_is_not_applied(browser, session, shift):
    url = reverse("mx:session-summary", args=[session.pk])
    html = browser.get(url, {"max_rmeas": "lots", "min_completeness": "-3"}).content.decode()
    assert "Rmeas at most: enter a number." in html
    assert "Completeness at least: enter a number of at least 0." in html
    assert len(order(html)) == 5 and 'aria-invalid="true"' in html
    response = browser.get(reverse("mx:session-summary-csv", args=[session.pk]),
                           {"max_rmeas": "lots"})
    assert response.status_code == 400 and b"Rmeas at most" in response.content


def test_sorting_by_a_column(browser, session, shift):
    url = reverse("mx:session-summary", args=[session.pk])
    html = browser.get(url, {"sort": "-completeness"}).content.decode()
    ids = order(html)
    assert ids[:3] == [shift["a_xia2"].pk, shift["a_ap"].pk, shift["b_xia2"].pk]
    assert 'aria-sort="descending"' in html
    html = browser.get(url, {"sort": "pipeline"}).content.decode()
    pipelines = ["autoPROC", "autoPROC", "fast_dp", "xia2 3dii", "xia2 dials"]
    names = [shift[k].pipeline for k in shift]
    by_id = {shift[k].pk: n for k, n in zip(shift, names, strict=True)}
    assert [by_id[i] for i in order(html)] == pipelines
    # sorting keeps the ranking marks
    assert best(html) == {shift["a_ap"].pk, shift["b_xia2"].pk}


def test_csv_export_of_the_filtered_ranked_rows(browser, session, shift):
    url = reverse("mx:session-summary-csv", args=[session.pk])
    response = browser.get(url, {"max_resolution": "2.5", "rank_by": "cc_half",
                                 "shell": "outer"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "mx-summary.csv" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [int(r["dataset_id"]) for r in rows] == [
        shift["b_xia2"].pk, shift["a_xia2"].pk, shift["a_ap"].pk]
    first = rows[0]
    assert first["rank"] == "1" and first["best_for_sample"] == "yes"
    assert first["sample"] == "lyso-B2" and first["collections"] == "B2_1"
    assert first["pipeline"] == "xia2 dials" and first["space_group"] == "C 2 2 21"
    assert first["cell_a"] == "78.1" and first["cell_gamma"] == "90.0"
    assert first["resolution_high_outer"] == "2.4" and first["completeness_overall"] == "88.0"
    assert first["r_meas_overall"] == "0.12" and first["cc_half_outer"] == "0.8"
    assert rows[1]["best_for_sample"] == "yes" and rows[2]["best_for_sample"] == ""


def test_summary_constant_queries(browser, session):
    url = reverse("mx:session-summary", args=[session.pk])
    csv_url = reverse("mx:session-summary-csv", args=[session.pk])

    def fill(n):
        for _ in range(n):
            sample = SampleFactory(proposal=session.proposal)
            c = collection(session, sample=sample)
            run([c], "xia2")
            run([c, collection(session, sample=sample)], "multiplex", kind=Dataset.Kind.MERGED)

    fill(2)
    few, _ = queries(browser, url)
    few_csv, _ = queries(browser, csv_url)
    fill(20)
    many, html = queries(browser, url)
    many_csv, _ = queries(browser, csv_url)
    assert len(order(html)) == 44
    assert few == many and few_csv == many_csv, (few, many, few_csv, many_csv)


def test_summary_permissions(browser, outsider, session, shift):
    for name in ("mx:session-summary", "mx:session-summary-csv"):
        url = reverse(name, args=[session.pk])
        assert browser.get(url).status_code == 200
        assert outsider.get(url).status_code == 404


def test_summary_hides_runs_of_other_sessions(browser, session, shift):
    other = SessionFactory()
    hidden = run([collection(other)], "elsewhere")
    html = browser.get(reverse("mx:session-summary", args=[session.pk])).content.decode()
    assert hidden.pk not in order(html) and "elsewhere" not in html


# --- Table 1 and mmCIF -----------------------------------------------------------------------

def test_table1_permission_all_or_nothing(browser, outsider, session, shift):
    url = reverse("mx:table1")
    ids = [shift["a_xia2"].pk, shift["b_xia2"].pk]
    foreign = run([collection(SessionFactory())], "foreign")
    assert browser.get(url, {"dataset": [ids[0], foreign.pk]}).status_code == 404
    assert outsider.get(url, {"dataset": ids}).status_code == 404
    assert browser.get(url, {"dataset": ["x"]}).status_code == 404
    assert browser.get(url).status_code == 400
    assert browser.get(url, {"dataset": ids, "format": "docx"}).status_code == 400
    expected = 200 if HAS_TABLE1 else 501
    assert browser.get(url, {"dataset": ids, "format": "csv"}).status_code == expected


@pytest.mark.skipif(not HAS_TABLE1, reason="mmcat_mx.table1 not written yet")
def test_table1_downloads(browser, session, shift):
    url = reverse("mx:table1")
    ids = [shift["a_xia2"].pk, shift["b_xia2"].pk]
    response = browser.get(url, {"dataset": ids, "format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'filename="table1.csv"' in response["Content-Disposition"]
    assert response.content.strip()
    response = browser.get(url, {"dataset": ids, "format": "latex"})
    assert response.status_code == 200 and 'filename="table1.tex"' in response[
        "Content-Disposition"]
    html = browser.get(reverse("mx:session-summary", args=[session.pk])).content.decode()
    assert 'id="mx-table1-form"' in html and f'value="{ids[0]}"' in html


def test_mmcif_permissions(browser, outsider, session, shift):
    url = reverse("mx:dataset-mmcif", args=[shift["a_xia2"].pk])
    assert outsider.get(url).status_code == 404
    assert browser.get(url).status_code == (200 if HAS_MMCIF else 501)


@pytest.mark.skipif(not HAS_MMCIF, reason="mmcat_mx.mmcif not written yet")
def test_mmcif_download(browser, session, shift):
    response = browser.get(reverse("mx:dataset-mmcif", args=[shift["a_xia2"].pk]))
    assert response.status_code == 200 and ".cif" in response["Content-Disposition"]
    assert response.content.lstrip().startswith(b"data_")
