"""The shipping documents, as PDF (reportlab): dewar labels, return labels and the contents sheet.

* :func:`dewar_labels_pdf` — one A4 page per dewar, fixed to the dewar: the facility's address
  (plugin setting ``facility_address``), the sending laboratory's address, proposal, shipment,
  dewar code, the safety level in large coloured type, and the dewar barcode twice: as Code 128
  with its text (for hand-held and USB scanners) and as a QR code (for phones and cameras).
* :func:`return_labels_pdf` — one page per dewar, put inside the transport case: the return
  address, courier and account, tracking number back, and the barcode.
* :func:`contents_pdf` — the shipment contents sheet: dewars → containers → positions → sample,
  with container and pin barcodes.

The functions only read; printing the dewar labels is a state change made by the view
(:mod:`mmcat_shipping.document_views`). Every function reads the shipment in a fixed number of
queries, however many dewars, containers and samples it holds.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

from django.apps import apps
from django.utils import timezone
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode import code128
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as pdfcanvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .models import Container, Dewar, SamplePosition

#: fill colour and text colour of the safety-level band
SAFETY_COLOURS = {
    "green": (colors.HexColor("#1b7f3b"), colors.white),
    "yellow": (colors.HexColor("#f2c500"), colors.black),
    "red": (colors.HexColor("#c62828"), colors.white),
}
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
MARGIN = 15 * mm


class DocumentError(ValueError):
    """A document cannot be made yet (e.g. the shipment has no sending contact)."""


@cache
def fonts() -> tuple[str, str]:
    """(regular, bold) font names: DejaVu Sans when installed (accents, Greek, Cyrillic), else
    the PDF base fonts."""
    try:
        pdfmetrics.registerFont(TTFont("MMC-Sans", str(FONT_DIR / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont("MMC-Sans-Bold", str(FONT_DIR / "DejaVuSans-Bold.ttf")))
    except Exception:  # noqa: BLE001 - any missing or unreadable font file
        return "Helvetica", "Helvetica-Bold"
    return "MMC-Sans", "MMC-Sans-Bold"


def facility_address() -> list[str]:
    """The facility's delivery address (plugin setting ``facility_address``), as lines."""
    text = apps.get_app_config("shipping").get_setting("facility_address") or ""
    return [line.strip() for line in str(text).splitlines() if line.strip()]


def contact_lines(contact) -> list[str]:
    """A lab contact's postal address, as lines (empty if there is no contact)."""
    if contact is None:
        return []
    lines = [contact.name, contact.laboratory,
             *[line.strip() for line in contact.address.splitlines() if line.strip()],
             f"{contact.postcode} {contact.city}".strip(), contact.country.upper()]
    if contact.phone:
        lines.append(f"Tel. {contact.phone}")
    if contact.email:
        lines.append(contact.email)
    return [line for line in lines if line]


def _dewars(shipment):
    return list(Dewar.objects.filter(shipment=shipment).select_related("registry")
                .prefetch_related("containers").order_by("code", "pk"))


def _shipment(shipment):
    """The shipment with the rows its documents print, read in one query."""
    from .models import Shipment

    return (Shipment.objects.select_related("proposal", "sending_contact", "return_contact")
            .get(pk=shipment.pk))


# --- drawing helpers ---------------------------------------------------------------------------

def _lines(c, x, y, lines, size=11, leading=None, bold_first=False):
    """Draw ``lines`` downwards from ``y``; returns the y below the last line."""
    regular, bold = fonts()
    leading = leading or size * 1.25
    for i, line in enumerate(lines):
        c.setFont(bold if bold_first and i == 0 else regular, size)
        c.drawString(x, y, line)
        y -= leading
    return y


def _heading(c, x, y, text):
    _, bold = fonts()
    c.setFont(bold, 9)
    c.setFillColor(colors.HexColor("#555555"))
    c.drawString(x, y, text.upper())
    c.setFillColor(colors.black)
    return y - 14


def draw_code128(c, value, x, y, width, height):
    """A Code 128 barcode of ``value`` in the box (x, y, width, height), its text below it.
    Bars are at least 0.35 mm wide so that a label printer's 203 dpi keeps them apart."""
    modules = code128.Code128(value, barWidth=1, quiet=False).minWidth()
    bar = max(0.35 * mm, min(width / modules, 0.9 * mm))
    barcode = code128.Code128(value, barHeight=height - 6 * mm, barWidth=bar, quiet=False)
    left = x + (width - barcode.width) / 2
    barcode.drawOn(c, left, y + 6 * mm)
    regular, _ = fonts()
    c.setFont(regular, 12)
    c.drawCentredString(x + width / 2, y + 1 * mm, value)


def draw_qr(c, value, x, y, size):
    """A QR code of ``value`` (error correction M), ``size`` points square, quiet zone inside."""
    widget = QrCodeWidget(value, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, c, x, y)


def _safety_band(c, level, label, x, y, width, height):
    fill, ink = SAFETY_COLOURS.get(level, (colors.grey, colors.white))
    c.setFillColor(fill)
    c.setStrokeColor(colors.black)
    c.rect(x, y, width, height, fill=1, stroke=1)
    c.setFillColor(ink)
    _, bold = fonts()
    c.setFont(bold, 34)
    c.drawCentredString(x + width / 2, y + (height - 34) / 2 + 8, f"SAFETY LEVEL: {label.upper()}")
    c.setFillColor(colors.black)


def _canvas(title, buffer):
    c = pdfcanvas.Canvas(buffer, pagesize=A4, pageCompression=1)
    c.setTitle(title)
    c.setAuthor("mmCAT")
    c.setCreator("mmCAT shipping")
    return c


# --- dewar labels ------------------------------------------------------------------------------

def dewar_labels_pdf(shipment) -> bytes:
    """One A4 label page per dewar of ``shipment`` (to be fixed to the dewar).

    Raises :class:`DocumentError` when the shipment has no dewar or no sending contact: a label
    without a sender cannot be sent back.
    """
    shipment = _shipment(shipment)
    dewars = _dewars(shipment)
    if not dewars:
        raise DocumentError("The shipment has no dewar: add a dewar before printing labels.")
    if shipment.sending_contact is None:
        raise DocumentError("Choose the sending lab contact of the shipment before printing "
                            "labels.")
    buffer = io.BytesIO()
    c = _canvas(f"Dewar labels · {shipment.proposal.reference} · {shipment.name}", buffer)
    width, height = A4
    inner = width - 2 * MARGIN
    printed = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    for dewar in dewars:
        top = height - MARGIN
        _safety_band(c, shipment.safety_level, shipment.get_safety_level_display(), MARGIN,
                     top - 22 * mm, inner, 22 * mm)
        y = top - 32 * mm
        half = inner / 2
        _heading(c, MARGIN, y, "To (facility)")
        _heading(c, MARGIN + half, y, "From (laboratory)")
        to = facility_address() or ["(facility address not configured)"]
        y_to = _lines(c, MARGIN, y - 16, to, size=12, bold_first=True)
        y_from = _lines(c, MARGIN + half, y - 16, contact_lines(shipment.sending_contact),
                        size=12, bold_first=True)
        y = min(y_to, y_from) - 6 * mm
        c.line(MARGIN, y, width - MARGIN, y)
        y -= 10 * mm
        _, bold = fonts()
        c.setFont(bold, 30)
        c.drawString(MARGIN, y - 4 * mm, f"Dewar {dewar.code}")
        y -= 16 * mm
        facts = [f"Proposal: {shipment.proposal.reference}",
                 f"Shipment: {shipment.name}",
                 f"Containers: {len(dewar.containers.all())}"]
        if dewar.registry_id:
            facts.insert(2, f"Facility code: {dewar.registry.facility_code}")
        if dewar.tracking_number_to_facility:
            facts.append(f"Tracking number: {dewar.tracking_number_to_facility}")
        if any(container.queue_for_unattended for container in dewar.containers.all()):
            facts.append("AUTO COLLECT: containers queued for unattended data collection")
        y = _lines(c, MARGIN, y, facts, size=14)
        barcodes = ", ".join(container.barcode for container in dewar.containers.all())
        if barcodes:
            c.setFont(fonts()[0], 9)
            c.drawString(MARGIN, y, f"Container barcodes: {barcodes}"[:150])
        # the barcodes: Code 128 on the left, QR on the right, at the foot of the page
        qr_size = 55 * mm
        foot = MARGIN + 12 * mm
        draw_code128(c, dewar.barcode, MARGIN, foot, inner - qr_size - 10 * mm, 40 * mm)
        draw_qr(c, dewar.barcode, width - MARGIN - qr_size, foot - 8 * mm, qr_size)
        c.setFont(fonts()[0], 8)
        c.drawString(MARGIN, MARGIN, f"Printed {printed} by mmCAT · {dewar.barcode}")
        c.showPage()
    c.save()
    return buffer.getvalue()


# --- return labels -----------------------------------------------------------------------------

def return_labels_pdf(shipment) -> bytes:
    """One page per dewar, to be put inside the transport case: where and how the facility sends
    the dewar back (return contact, or the sending contact when none is set)."""
    shipment = _shipment(shipment)
    dewars = _dewars(shipment)
    contact = shipment.return_contact or shipment.sending_contact
    if not dewars:
        raise DocumentError("The shipment has no dewar: add a dewar before printing labels.")
    if contact is None:
        raise DocumentError("Choose the return lab contact of the shipment before printing "
                            "return labels.")
    courier = shipment.courier or contact.courier
    account = shipment.courier_account or contact.courier_account
    buffer = io.BytesIO()
    c = _canvas(f"Return labels · {shipment.proposal.reference} · {shipment.name}", buffer)
    width, height = A4
    inner = width - 2 * MARGIN
    for dewar in dewars:
        y = height - MARGIN - 10 * mm
        _, bold = fonts()
        c.setFont(bold, 26)
        c.drawString(MARGIN, y, "RETURN LABEL")
        c.setFont(fonts()[0], 11)
        c.drawRightString(width - MARGIN, y, "Put this page inside the transport case.")
        y -= 16 * mm
        y = _heading(c, MARGIN, y, "Return to")
        y = _lines(c, MARGIN, y - 4, contact_lines(contact), size=16, bold_first=True)
        y -= 8 * mm
        y = _heading(c, MARGIN, y, "From (facility)")
        y = _lines(c, MARGIN, y - 2,
                   facility_address() or ["(facility address not configured)"], size=11)
        y -= 8 * mm
        y = _heading(c, MARGIN, y, "Courier")
        y = _lines(c, MARGIN, y - 2, [
            f"Courier: {courier or 'not given'}",
            f"Account: {account or 'not given'}",
            f"Tracking number: {dewar.tracking_number_from_facility or 'not yet known'}",
            *([f"Billing reference: {contact.billing_reference}"]
              if contact.billing_reference else []),
        ], size=14)
        y -= 8 * mm
        _lines(c, MARGIN, y, [
            f"Proposal {shipment.proposal.reference} · shipment {shipment.name} · "
            f"dewar {dewar.code} · safety level {shipment.get_safety_level_display()}",
        ], size=11)
        draw_code128(c, dewar.barcode, MARGIN, MARGIN + 10 * mm, inner - 50 * mm, 30 * mm)
        draw_qr(c, dewar.barcode, width - MARGIN - 40 * mm, MARGIN + 5 * mm, 40 * mm)
        c.showPage()
    c.save()
    return buffer.getvalue()


# --- contents sheet ----------------------------------------------------------------------------

def contents_rows(shipment) -> list[list[str]]:
    """The contents sheet's rows (dewar, container, type, container barcode, position, protein,
    sample, pin barcode), in three queries; an empty container or dewar gets one row."""
    dewars = list(Dewar.objects.filter(shipment=shipment).order_by("code", "pk"))
    containers = list(Container.objects.filter(dewar__shipment=shipment)
                      .order_by("dewar__code", "code", "pk"))
    positions = list(SamplePosition.objects.filter(container__dewar__shipment=shipment)
                     .select_related("sample").order_by("container_id", "position"))
    by_container: dict[int, list] = {}
    for position in positions:
        by_container.setdefault(position.container_id, []).append(position)
    by_dewar: dict[int, list] = {}
    for container in containers:
        by_dewar.setdefault(container.dewar_id, []).append(container)
    rows = []
    for dewar in dewars:
        if not by_dewar.get(dewar.pk):
            rows.append([f"{dewar.code}\n{dewar.barcode}", "(empty)", "", "", "", "", "", ""])
        for container in by_dewar.get(dewar.pk, []):
            head = [f"{dewar.code}\n{dewar.barcode}", container.code,
                    f"{container.get_type_display()} ({container.capacity})", container.barcode]
            filled = by_container.get(container.pk, [])
            if not filled:
                rows.append([*head, "", "(empty)", "", ""])
            for position in filled:
                rows.append([*head, str(position.position), position.sample.component,
                             position.sample.name, position.pin_barcode])
    return rows


def contents_pdf(shipment) -> bytes:
    """The shipment contents sheet (landscape A4): a table of every dewar, container, position
    and sample, with the container and pin barcodes."""
    shipment = _shipment(shipment)
    regular, bold = fonts()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=landscape(A4), leftMargin=MARGIN,
                            rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=MARGIN,
                            title=f"Contents · {shipment.proposal.reference} · {shipment.name}",
                            author="mmCAT")
    title = ParagraphStyle("title", fontName=bold, fontSize=16, leading=20)
    text = ParagraphStyle("text", fontName=regular, fontSize=10, leading=13)
    cell = ParagraphStyle("cell", fontName=regular, fontSize=9, leading=11)
    sender = shipment.sending_contact
    story = [
        Paragraph(escape(f"Shipment contents: {shipment.name}"), title),
        Spacer(1, 2 * mm),
        Paragraph(escape(
            f"Proposal {shipment.proposal.reference} · safety level "
            f"{shipment.get_safety_level_display()} · status {shipment.get_status_display()}"
            + (f" · from {sender.name}, {sender.laboratory}" if sender else "")
            + f" · printed {timezone.localtime().strftime('%Y-%m-%d %H:%M')}"), text),
        Spacer(1, 4 * mm),
    ]
    header = ["Dewar", "Container", "Type", "Container barcode", "Position", "Protein",
              "Sample", "Pin barcode"]
    rows = contents_rows(shipment)
    if not rows:
        story.append(Paragraph("The shipment has no dewar yet.", text))
    else:
        data = [header] + [[Paragraph(escape(value).replace("\n", "<br/>"), cell)
                            for value in row] for row in rows]
        table = Table(data, repeatRows=1,
                      colWidths=[38 * mm, 30 * mm, 32 * mm, 38 * mm, 18 * mm, 35 * mm,
                                 40 * mm, 36 * mm])
        table.setStyle(TableStyle([
            ("FONTNAME", (0, 0), (-1, 0), bold),
            ("FONTSIZE", (0, 0), (-1, 0), 9),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
            ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]))
        story.append(table)
    doc.build(story)
    return buffer.getvalue()
