"""The shipping PDFs: dewar labels whose Code 128 and QR code a real barcode reader (zxing-cpp)
decodes back from the rasterised page (pypdfium2), the texts on them, return labels, the contents
sheet, printing labels as a state change, and who may download them."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mmcat.models import ProposalMember
from mmcat.testing import (
    BeamlineFactory,
    PersonFactory,
    ProposalFactory,
    SampleFactory,
    SessionFactory,
    web_client,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not apps.is_installed("mmcat_shipping"),
                       reason="the shipping plugin is not enabled (MMCAT_PLUGINS)"),
]

FACILITY = "Test Light Source\nSample reception, building 7\n12 Beam Road\n99999 Synchrotron City"


@pytest.fixture(autouse=True)
def facility_address(settings):
    settings.MMCAT_PLUGIN_SETTINGS = {"shipping": {"facility_address": FACILITY}}


def build(proposal=None, *, dewars=("DW-1",), safety="green", samples=2, contact=True):
    """A shipment with a lab contact, dewars each holding one unipuck with ``samples``."""
    from mmcat_shipping import services

    proposal = proposal or ProposalFactory()
    sender = services.create_lab_contact(
        proposal, name="Ada Lovelace", email="ada@lab.example", phone="+44 1 2345",
        laboratory="Lovelace Structural Lab", address="1 Crystal Lane\nWing B",
        city="Oxford", postcode="OX1 3QU", country="United Kingdom", courier="DHL",
        courier_account="ACC-998877") if contact else None
    shipment = services.create_shipment(proposal, name="Trip_1", safety_level=safety,
                                        sending_contact=sender, by=proposal.pi)
    for code in dewars:
        dewar = services.add_dewar(shipment, code=code, by=proposal.pi)
        container = services.add_container(dewar, code=f"P{code[-1]}", by=proposal.pi)
        for position in range(1, samples + 1):
            sample = SampleFactory(proposal=proposal, component="lyso",
                                   name=f"{code.replace('-', '')}x{position}")
            services.place_sample(container, position, sample, pin_barcode=f"PIN{position:03d}")
    return shipment


def pages(pdf: bytes):
    import pypdfium2 as pdfium

    return list(pdfium.PdfDocument(pdf))


def text_of(page) -> str:
    return page.get_textpage().get_text_range()


def decoded(page) -> dict[str, list[str]]:
    """Every barcode a real reader finds on the page rendered at 200 dpi: {format: [texts]}."""
    import zxingcpp

    image = page.render(scale=200 / 72).to_pil()
    found: dict[str, list[str]] = {}
    for result in zxingcpp.read_barcodes(image):
        found.setdefault(result.format.name, []).append(result.text)
    return found


# --- dewar labels -----------------------------------------------------------------------------

def test_dewar_labels_barcodes_decode_back():
    from mmcat_shipping.documents import dewar_labels_pdf

    shipment = build(dewars=("DW-1", "DW-2"))
    barcodes = list(shipment.dewars.order_by("code").values_list("barcode", flat=True))
    assert all(code.startswith("MMC-D-") for code in barcodes)
    label_pages = pages(dewar_labels_pdf(shipment))
    assert len(label_pages) == 2
    for page, barcode in zip(label_pages, barcodes, strict=True):
        found = decoded(page)
        assert found.get("Code128") == [barcode], found
        assert found.get("QRCode") == [barcode], found


def test_dewar_label_text_has_addresses_proposal_and_safety():
    from mmcat_shipping.documents import dewar_labels_pdf

    shipment = build(safety="yellow")
    dewar = shipment.dewars.get()
    text = text_of(pages(dewar_labels_pdf(shipment))[0])
    for expected in ["12 Beam Road", "99999 Synchrotron City",  # facility (setting)
                     "Ada Lovelace", "Lovelace Structural Lab", "1 Crystal Lane", "Wing B",
                     "OX1 3QU Oxford", "UNITED KINGDOM",  # the sending lab
                     shipment.proposal.reference, "Trip_1", "Dewar DW-1", dewar.barcode,
                     "SAFETY LEVEL: YELLOW", "Container barcodes:"]:
        assert expected in text, expected


def test_dewar_labels_without_contact_or_dewars_are_refused():
    from mmcat_shipping.documents import DocumentError, dewar_labels_pdf

    with pytest.raises(DocumentError, match="sending lab contact"):
        dewar_labels_pdf(build(contact=False))
    with pytest.raises(DocumentError, match="no dewar"):
        dewar_labels_pdf(build(dewars=()))


def test_dewar_labels_queries_do_not_grow_with_dewars():
    from mmcat_shipping.documents import dewar_labels_pdf

    def count(shipment):
        with CaptureQueriesContext(connection) as captured:
            dewar_labels_pdf(shipment)
        return len(captured)

    assert count(build(dewars=("A-1",))) == count(build(dewars=("B-1", "B-2", "B-3")))


# --- return labels and contents ---------------------------------------------------------------

def test_return_labels_text_and_barcode():
    from mmcat_shipping import services
    from mmcat_shipping.documents import return_labels_pdf

    shipment = build()
    dewar = shipment.dewars.get()
    services.update_dewar(dewar, by=shipment.proposal.pi,
                          tracking_number_from_facility="TRK-555")
    page = pages(return_labels_pdf(shipment))[0]
    text = text_of(page)
    for expected in ["RETURN LABEL", "Ada Lovelace", "1 Crystal Lane", "Courier: DHL",
                     "Account: ACC-998877", "Tracking number: TRK-555", "Test Light Source"]:
        assert expected in text, expected
    assert decoded(page).get("Code128") == [dewar.barcode]


def test_contents_sheet_lists_every_position():
    from mmcat_shipping.documents import contents_pdf, contents_rows

    shipment = build(dewars=("DW-1", "DW-2"), samples=3)
    rows = contents_rows(shipment)
    assert len(rows) == 6
    assert rows[0][4:] == ["1", "lyso", "DW1x1", "PIN001"]
    text = "".join(text_of(page) for page in pages(contents_pdf(shipment)))
    for expected in ["Shipment contents: Trip_1", "DW2x3", "PIN003", "Unipuck (16)",
                     shipment.dewars.get(code="DW-2").barcode]:
        assert expected in text, expected


# --- the views: printing is a state change; permissions ---------------------------------------

def test_printing_labels_moves_opened_dewars_to_labels_printed():
    from mmcat_shipping.models import TransportEvent

    shipment = build(dewars=("DW-1", "DW-2"))
    client = web_client(shipment.proposal.pi)
    response = client.get(reverse("shipping:shipment-labels", args=[shipment.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert set(shipment.dewars.values_list("status", flat=True)) == {"labels_printed"}
    events = TransportEvent.objects.filter(shipment=shipment, to_status="labels_printed")
    assert events.count() == 2 and {e.by for e in events} == {shipment.proposal.pi}
    # printing again is a reprint: no further change
    assert client.get(reverse("shipping:shipment-labels", args=[shipment.pk])).status_code == 200
    assert events.count() == 2


def test_labels_without_sending_contact_answer_409_and_change_nothing():
    shipment = build(contact=False)
    response = web_client(shipment.proposal.pi).get(
        reverse("shipping:shipment-labels", args=[shipment.pk]))
    assert response.status_code == 409
    assert "sending lab contact" in response.content.decode()
    assert shipment.dewars.get().status == "opened"


@pytest.mark.parametrize("name", ["shipping:shipment-labels", "shipping:shipment-return-labels",
                                  "shipping:shipment-contents"])
def test_members_and_staff_get_pdfs_outsiders_404(name):
    shipment = build()
    member = PersonFactory()
    ProposalMember.objects.create(proposal=shipment.proposal, person=member, role="member")
    staff = PersonFactory(role="staff")
    url = reverse(name, args=[shipment.pk])
    for person in (member, staff):
        response = web_client(person).get(url)
        assert response.status_code == 200, person
        assert response.content.startswith(b"%PDF")
    assert web_client(PersonFactory()).get(url).status_code == 404
    assert web_client(PersonFactory()).get(
        reverse(name, args=[shipment.pk + 1000])).status_code == 404
    assert web_client(PersonFactory()).post(url).status_code in (404, 405)


def test_beamline_staff_read_contents_but_do_not_print_labels():
    shipment = build()
    beamline = BeamlineFactory()
    local_contact = PersonFactory()
    beamline.staff.add(local_contact)
    session = SessionFactory(proposal=shipment.proposal, beamline=beamline)
    shipment.sessions.add(session)
    client = web_client(local_contact)
    assert client.get(reverse("shipping:shipment-contents", args=[shipment.pk])).status_code == 200
    assert client.get(reverse("shipping:shipment-labels", args=[shipment.pk])).status_code == 404
    assert shipment.dewars.get().status == "opened"


def test_anonymous_is_sent_to_login():
    shipment = build()
    from django.test import Client

    response = Client().get(reverse("shipping:shipment-labels", args=[shipment.pk]))
    assert response.status_code == 302 and "login" in response["Location"]
