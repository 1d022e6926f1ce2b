"""The sample-sheet import page (upload → preview with errors on their cells → fixes → import)
and the puck editor's paste box: permissions, the session between preview and import, and that
nothing is written while the sheet has errors."""

from __future__ import annotations

import html

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from mmcat.models import ProposalMember, Sample
from mmcat.testing import PersonFactory, ProposalFactory, SampleFactory, get_page, web_client

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not apps.is_installed("mmcat_shipping"),
                       reason="the shipping plugin is not enabled (MMCAT_PLUGINS)"),
]

HEADER = "Dewar Code;Container Code;Sample position;Protein Acronym;Sample Name;Pin Barcode"
GOOD = f"{HEADER}\nD1;P1;1;LYS;x1;PIN1\nD1;P1;2;LYS;x2;\n"
BAD = f"{HEADER}\nD1;P1;1;LYS;x 1;\nD1;P1;2;LYS;dup;\nD1;P1;3;LYS;dup;\nD1;P1;4;LYS;ref;\n"


def models():
    from mmcat_shipping import models as module

    return module


@pytest.fixture
def shipment(member):
    proposal = ProposalFactory(number=1234)
    ProposalMember.objects.create(proposal=proposal, person=member, role="member")
    SampleFactory(proposal=proposal, component="LYS", name="ref")
    return models().Shipment.objects.create(proposal=proposal, name="first")


@pytest.fixture
def client(member):
    return web_client(member)


def url(shipment):
    return reverse("shipping:shipment-import", args=[shipment.pk])


def upload(client, shipment, text, profile="ispyb", name="sheet.csv", **extra):
    data = {"action": "upload", "profile": profile,
            "sheet": SimpleUploadedFile(name, text.encode() if isinstance(text, str) else text),
            **extra}
    return client.post(url(shipment), data)


def page(response) -> str:
    return html.unescape(response.content.decode())


def counts():
    m = models()
    return (m.Dewar.objects.count(), m.Container.objects.count(), Sample.objects.count(),
            m.SamplePosition.objects.count())


def detail_url(shipment):
    return reverse("shipping:shipment-detail", args=[shipment.pk])


# --- permissions -----------------------------------------------------------------------------

def test_members_and_staff_see_the_page_outsiders_get_404(shipment, client):
    _, text = get_page(client, url(shipment))
    assert 'id="sheet-upload-form"' in text and "ISPyB / EXI CSV" in text
    staff = PersonFactory(role="staff")
    get_page(web_client(staff), url(shipment))
    outsider = web_client(PersonFactory())
    assert outsider.get(url(shipment)).status_code == 404
    assert upload(outsider, shipment, GOOD).status_code == 404
    assert outsider.post(url(shipment), {"action": "import"}).status_code == 404
    assert counts() == (0, 0, 1, 0)


def test_anonymous_users_are_sent_to_sign_in(shipment):
    from django.test import Client

    response = Client().get(url(shipment))
    assert response.status_code == 302 and "login" in response["Location"]


def test_readers_who_are_not_members_get_404(shipment):
    """Beamline staff see the proposal's sessions but do not edit its shipments."""
    from mmcat.testing import SessionFactory

    session = SessionFactory(proposal=shipment.proposal)
    local = PersonFactory()
    session.local_contacts.add(local)
    assert web_client(local).get(url(shipment)).status_code == 404


def test_the_blank_templates_download(shipment, client):
    response = client.get(reverse("shipping:sheet-template", args=["shipment-template.csv"]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"Proposal Code;Proposal Number")
    assert client.get(reverse("shipping:sheet-template",
                              args=["settings.py"])).status_code == 404


# --- upload, preview, import -----------------------------------------------------------------

def test_a_good_sheet_previews_then_imports(shipment, client, member):
    response = upload(client, shipment, GOOD)
    assert response.status_code == 200
    text = page(response)
    assert 'id="sheet-valid"' in text and 'id="sheet-import"' in text
    assert 'id="sheet-row-2"' in text and "PIN1" in text
    assert counts() == (0, 0, 1, 0)  # the preview writes nothing
    assert client.session[f"shipping-import-{shipment.pk}"]["rows"]
    response = client.post(url(shipment), {"action": "import"})
    assert response.status_code == 302 and response["Location"] == detail_url(shipment)
    assert counts() == (1, 1, 3, 2)
    assert f"shipping-import-{shipment.pk}" not in client.session
    sample = Sample.objects.get(name="x1", component="LYS")
    assert sample.shipping_position.pin_barcode == "PIN1"
    # the same sheet again: nothing new
    upload(client, shipment, GOOD)
    response = client.post(url(shipment), {"action": "import"})
    assert response.status_code == 302 and counts() == (1, 1, 3, 2)


def test_errors_are_shown_on_their_cells_and_nothing_is_imported(shipment, client):
    response = upload(client, shipment, BAD)
    assert response.status_code == 200
    text = page(response)
    for message in [
        "Row 2, column 'Sample Name': 'x 1' has characters other than letters, digits, _ and -",
        "Row 4, column 'Sample Name': duplicate sample 'dup' of protein 'LYS' (also in row 3)",
        "Row 5, column 'Sample Name': sample 'ref' of protein 'LYS' already exists in proposal "
        "mx1234",
    ]:
        assert message in text
    assert text.count('aria-invalid="true"') == 3
    assert 'id="sheet-import"' not in text and 'id="sheet-fix"' in text
    response = client.post(url(shipment), {"action": "import"})  # forced: refused
    assert response.status_code == 422 and counts() == (0, 0, 1, 0)
    assert "nothing is imported until the whole sheet is valid" in page(response)


def test_the_auto_fix_then_import(shipment, client):
    upload(client, shipment, BAD)
    response = client.post(url(shipment), {"action": "fix"})
    text = page(response)
    assert "Row 2: 'x 1' → 'x_1' (illegal characters)" in text
    assert "Row 4: 'dup' → 'dup_2' (duplicate name)" in text
    assert "Row 5: 'ref' → 'ref_2' (duplicate name)" in text
    assert 'id="sheet-valid"' in text and counts() == (0, 0, 1, 0)
    response = client.post(url(shipment), {"action": "import"})
    assert response.status_code == 302
    assert set(Sample.objects.filter(proposal=shipment.proposal).values_list("name", flat=True)) \
        == {"ref", "x_1", "dup", "dup_2", "ref_2"}


def test_unknown_proteins_need_the_tick(shipment, client):
    sheet = f"{HEADER}\nD1;P1;1;NEW;n1;\n"
    text = page(upload(client, shipment, sheet))
    assert "Row 2, column 'Protein Acronym': unknown protein 'NEW' in proposal mx1234 " \
           "(known: LYS)" in text
    text = page(client.post(url(shipment), {"action": "check", "create_proteins": "on"}))
    assert 'id="sheet-valid"' in text and "New proteins: NEW." in text
    response = client.post(url(shipment), {"action": "import", "create_proteins": "on"})
    assert response.status_code == 302
    assert Sample.objects.filter(component="NEW", name="n1").exists()


def test_unreadable_sheets_name_the_problem(shipment, client):
    response = upload(client, shipment, "Dewar,Puck\nD1,P1\n")
    assert response.status_code == 422
    assert "the columns are separated by ',', but profile 'ispyb' expects ';'" in page(response)
    response = upload(client, shipment, GOOD, profile="ispyb-xls-6.1")
    assert "This is not an .xls or .xlsx spreadsheet" in page(response)
    response = upload(client, shipment, GOOD, profile="nope")
    assert response.status_code == 422 and "Unknown column profile 'nope'." in page(response)
    response = client.post(url(shipment), {"action": "upload", "profile": "ispyb"})
    assert "Choose a sample sheet to upload." in page(response)
    assert counts() == (0, 0, 1, 0)


def test_the_real_xls_template_uploads(shipment, client):
    from mmcat_shipping.sheets import REALDATA

    data = (REALDATA / "ispyb-template6.1_shipment.xls").read_bytes()
    response = upload(client, shipment, data, profile="ispyb-xls-6.1", name="t.xls")
    assert response.status_code == 200
    assert "The sheet has no samples." in page(response)


def test_import_without_a_preview_asks_for_the_sheet_again(shipment, client):
    response = client.post(url(shipment), {"action": "import"})
    assert response.status_code == 302 and response["Location"] == url(shipment)


def test_cancel_forgets_the_sheet(shipment, client):
    upload(client, shipment, GOOD)
    client.post(url(shipment), {"action": "cancel"})
    assert f"shipping-import-{shipment.pk}" not in client.session
    _, text = get_page(client, url(shipment) + "?preview=1")
    assert 'id="sheet-preview"' not in text


def test_a_sent_shipment_refuses_imports(shipment, client):
    upload(client, shipment, GOOD)
    models().Shipment.objects.filter(pk=shipment.pk).update(status="sent")
    response = client.post(url(shipment), {"action": "import"})
    assert response.status_code == 422
    assert "samples can no longer be added" in page(response)
    assert counts() == (0, 0, 1, 0)


# --- paste -----------------------------------------------------------------------------------

@pytest.fixture
def container(shipment, member):
    from mmcat_shipping import services

    dewar = services.add_dewar(shipment, code="D1", by=member)
    return services.add_container(dewar, code="P1", type="unipuck", by=member)


def paste_url(container):
    return reverse("shipping:container-paste", args=[container.pk])


HTMX = {"HTTP_HX_REQUEST": "true"}


def test_paste_adds_the_rows_and_answers_the_positions(container, client):
    response = client.post(paste_url(container), {"text": "1\tLYS\tp1\tPIN9\n2\tLYS\tp2"},
                           **HTMX)
    assert response.status_code == 200
    text = page(response)
    assert f'id="paste-result-{container.pk}"' in text
    assert "2 samples, 0 containers and 0 dewars added" in text
    assert 'data-position="1"' in text and "LYS-p1" in text and "PIN9" in text
    assert [p.sample.name for p in container.positions.all()] == ["p1", "p2"]


def test_paste_errors_name_row_and_column_and_write_nothing(container, client):
    before = counts()
    response = client.post(paste_url(container), {"text": "1\tLYS\tp 1\n17\tLYS\tp2"}, **HTMX)
    text = page(response)
    assert "Row 1, column 'Sample name': 'p 1' has characters other than letters, digits, _ " \
           "and -" in text
    assert "Row 2, column 'Position': 17 is outside 1..16 for a Unipuck" in text
    assert counts() == before
    # the fix offer: only the name is fixable, so the position error remains
    text = page(client.post(paste_url(container),
                            {"text": "1\tLYS\tp 1\n2\tLYS\tp 1", "fix": "1"}, **HTMX))
    assert "Fixed: Row 1: 'p 1' → 'p_1' (illegal characters); Row 2: 'p 1' → 'p_1_2'" in text
    assert sorted(p.sample.name for p in container.positions.all()) == ["p_1", "p_1_2"]


def test_paste_without_htmx_redirects_to_the_shipment(container, client, shipment):
    response = client.post(paste_url(container), {"text": "3\tLYS\tp3"})
    assert response.status_code == 302 and response["Location"] == detail_url(shipment)


def test_paste_permissions(container, client):
    outsider = web_client(PersonFactory())
    assert outsider.post(paste_url(container), {"text": "1\tLYS\tp1"}).status_code == 404
    assert client.get(paste_url(container)).status_code == 405
    assert not container.positions.exists()
