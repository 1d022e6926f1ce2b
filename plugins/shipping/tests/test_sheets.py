"""Sample sheets: the real ISPyB templates, and real-world bad sheets written here (wrong
columns, mixed-up delimiter, duplicates, bad characters, positions out of range, unknown
proteins, too-long names, two samples in one position) — each with the exact row/column
messages and nothing written; the auto-fix, retries, site profiles and pasted rows."""

from __future__ import annotations

import io

import pytest
from django.apps import apps

from mmcat.models import Sample
from mmcat.testing import PersonFactory, ProposalFactory, SampleFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not apps.is_installed("mmcat_shipping"),
                       reason="the shipping plugin is not enabled (MMCAT_PLUGINS)"),
]

HEADER = ("Proposal Code;Proposal Number;Visit Number;Shipping Name;Dewar Code;Container Code;"
          "Pre-observed Resolution;Needed Resolution;Oscillation Range;Protein Acronym;"
          "Protein Name;Space Group;Pin Barcode;Sample Name;Sample position;Comments;a;b;c;"
          "alpha;beta;gamma")


def sheets():
    from mmcat_shipping import sheets as module

    return module


def models():
    from mmcat_shipping import models as module

    return module


def line(dewar="D1", puck="P1", position="1", protein="LYS", sample="x1", *, code="mx",
         number="", pin="", group="", comments="", cell=("", "", "", "", "", ""), res=("", "")):
    return ";".join([code, number, "", "", dewar, puck, res[0], res[1], "", protein, "", group,
                     pin, sample, position, comments, *cell])


def csv(*lines, header=HEADER) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


@pytest.fixture
def shipment():
    proposal = ProposalFactory(number=1234)
    SampleFactory(proposal=proposal, component="LYS", name="ref")  # LYS is known
    protein = SampleFactory(proposal=proposal, component="", name="TRY")  # a parent: TRY known
    SampleFactory(proposal=proposal, component="", name="TRY-c1", parent=protein)
    return models().Shipment.objects.create(proposal=proposal, name="first")


@pytest.fixture
def person():
    return PersonFactory()


def counts():
    m = models()
    return (m.Dewar.objects.count(), m.Container.objects.count(), Sample.objects.count(),
            m.SamplePosition.objects.count())


def check(shipment, data, profile="ispyb", **kwargs):
    rows = sheets().read_sheet(data, profile)
    return rows, sheets().validate(rows, shipment, **kwargs)


def messages(report):
    return [str(e) for e in report.errors]


def assert_refused(shipment, rows, person, expected, **kwargs):
    """The import refuses with exactly ``expected`` and writes nothing."""
    before = counts()
    with pytest.raises(sheets().SheetInvalid) as caught:
        sheets().import_sheet(shipment, rows, by=person, **kwargs)
    assert messages(caught.value.report) == expected
    assert counts() == before


# --- the real templates ----------------------------------------------------------------------

def test_the_real_csv_template_parses_with_its_22_headers(shipment):
    path = sheets().REALDATA / "shipment-template.csv"
    header = path.read_text().splitlines()[0].split(";")
    assert len(header) == 22
    profile = sheets().PROFILES["ispyb"]
    assert [label for _, _, label in profile.column_list()] == header
    rows = sheets().read_sheet(path, profile)
    assert len(rows) == 1 and rows[0].line == 2
    assert rows[0].get("proposal_code") == "mx" and rows[0].blank
    assert set(rows[0].labels.values()) == set(header)
    assert messages(sheets().validate(rows, shipment)) == ["The sheet has no samples."]


def test_the_real_xls_template_reads_its_16_positions():
    rows = sheets().read_sheet(sheets().REALDATA / "ispyb-template6.1_shipment.xls",
                               "ispyb-xls-6.1")
    assert [r.get("position") for r in rows] == [str(n) for n in range(1, 17)]
    assert [r.line for r in rows] == list(range(7, 23))  # spreadsheet rows 7..22
    assert {r.get("dewar") for r in rows} == {"Dewar1"}
    assert {r.get("container") for r in rows} == {"Puck1"}
    assert rows[0].where("container") == (2, "Puck") and rows[0].where("dewar") == (3, "Dewar")
    assert {r.get("experiment_type") for r in rows} == {"Default"}
    assert all(r.blank for r in rows)  # an empty template: 16 empty positions


def xlsx_like_template(samples, puck="Puck7", dewar="DewarA") -> bytes:
    """A filled-in copy of the ISPyB 6.1 layout, saved as .xlsx (as Excel users send it)."""
    import openpyxl
    import xlrd

    template = xlrd.open_workbook(
        str(sheets().REALDATA / "ispyb-template6.1_shipment.xls")).sheet_by_index(0)
    book = openpyxl.Workbook()
    ws = book.active
    for r in range(22):
        for c in range(template.ncols):
            value = template.cell_value(r, c)
            if value != "":
                ws.cell(row=r + 1, column=c + 1, value=value)
    ws["D2"], ws["D3"] = puck, dewar
    for position, protein, name, group in samples:
        ws.cell(row=6 + position, column=3, value=protein)
        ws.cell(row=6 + position, column=4, value=group)
        ws.cell(row=6 + position, column=5, value=name)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_filled_xlsx_in_the_template_layout_imports(shipment, person):
    data = xlsx_like_template([(1, "LYS - P43212", "a1", ""), (4, "TRY", "b1", "C2")])
    rows, report = check(shipment, data, "ispyb-xls-6.1")
    assert report.ok, messages(report)
    assert len(report.samples) == 2
    result = sheets().import_sheet(shipment, rows, by=person)
    assert len(result.samples) == 2
    lys = Sample.objects.get(proposal=shipment.proposal, component="LYS", name="a1")
    assert lys.properties == {"space_group": "P43212", "experiment_type": "Default"}
    position = lys.shipping_position
    assert (position.container.code, position.container.dewar.code, position.position) == (
        "Puck7", "DewarA", 1)
    assert position.container.type == "unipuck" and position.container.capacity == 16


def test_xlsx_errors_name_the_spreadsheet_row_and_the_header_cell(shipment):
    data = xlsx_like_template([(2, "LYS", "a 1", "")], puck="Puck 7")
    _, report = check(shipment, data, "ispyb-xls-6.1")
    assert messages(report) == [
        "Row 2, column 'Puck': 'Puck 7' has characters other than letters, digits, _ and - "
        "(space)",
        "Row 8, column 'Sample Name': 'a 1' has characters other than letters, digits, _ and -",
    ]


def test_an_xls_profile_refuses_a_csv_and_the_csv_profile_a_spreadsheet():
    S = sheets()
    with pytest.raises(S.SheetError) as caught:
        S.read_sheet(csv(line()), "ispyb-xls-6.1")
    assert str(caught.value) == ("This is not an .xls or .xlsx spreadsheet: choose a CSV "
                                 "profile for a text file.")
    with pytest.raises(S.SheetError) as caught:
        S.read_sheet(S.REALDATA / "ispyb-template6.1_shipment.xls", "ispyb")
    assert "This is a spreadsheet file, not a CSV" in str(caught.value)


# --- a good sheet, and retries ---------------------------------------------------------------

GOOD = csv(
    line("D1", "P1", "1", "LYS", "x1", number="1234", pin="PIN-001", group="P43212",
         cell=("78.1", "78.1", "37.2", "90", "90", "90"), res=("1.8", "2.0"), comments="big"),
    line("D1", "P1", "2", "LYS", "x2"),
    line("D1", "P2", "16", "TRY", "t1"),
)


def test_a_good_sheet_imports_dewars_containers_and_samples(shipment, person):
    rows, report = check(shipment, GOOD)
    assert report.ok, messages(report)
    result = sheets().import_sheet(shipment, rows, by=person)
    assert [d.code for d in result.dewars] == ["D1"]
    assert [c.code for c in result.containers] == ["P1", "P2"]
    assert len(result.samples) == 3 and result.unchanged == 0
    x1 = Sample.objects.get(proposal=shipment.proposal, component="LYS", name="x1")
    assert x1.comments == "big"
    assert x1.properties == {"space_group": "P43212", "cell_a": 78.1, "cell_b": 78.1,
                             "cell_c": 37.2, "cell_alpha": 90.0, "cell_beta": 90.0,
                             "cell_gamma": 90.0, "pre_observed_resolution": 1.8,
                             "needed_resolution": 2.0}
    assert x1.shipping_position.pin_barcode == "PIN-001"
    t1 = Sample.objects.get(proposal=shipment.proposal, name="t1")
    assert (t1.component, t1.shipping_position.position) == ("TRY", 16)
    assert t1.shipping_position.container.dewar.shipment == shipment


def test_retrying_the_same_import_does_not_duplicate(shipment, person):
    rows, _ = check(shipment, GOOD)
    sheets().import_sheet(shipment, rows, by=person)
    before = counts()
    rows, report = check(shipment, GOOD)
    assert report.ok and report.unchanged == {2, 3, 4}
    result = sheets().import_sheet(shipment, rows, by=person)
    assert (result.dewars, result.containers, result.samples, result.unchanged) == (
        [], [], [], 3)
    assert counts() == before
    # a sheet with one more row reuses the dewar and the container
    rows, _ = check(shipment, GOOD + line("D1", "P1", "3", "LYS", "x3").encode() + b"\n")
    result = sheets().import_sheet(shipment, rows, by=person)
    assert (len(result.dewars), len(result.containers), len(result.samples)) == (0, 0, 1)
    assert models().Container.objects.filter(code="P1").count() == 1


# --- real-world bad sheets -------------------------------------------------------------------

def test_wrong_columns_are_named():
    S = sheets()
    header = HEADER.replace("Sample Name", "Crystal").replace(";Comments", ";Notes")
    with pytest.raises(S.SheetError) as caught:
        S.read_sheet(csv(line(), header=header), "ispyb")
    assert [str(e) for e in caught.value.errors] == [
        "Row 1: missing columns 'Sample Name' (profile 'ispyb')",
        "Row 1: unknown columns 'Crystal', 'Notes' (profile 'ispyb' has 'Proposal Code', "
        "'Proposal Number', 'Visit Number', 'Shipping Name', 'Dewar Code', 'Container Code', "
        "'Pre-observed Resolution', 'Needed Resolution', 'Oscillation Range', "
        "'Protein Acronym', 'Protein Name', 'Space Group', 'Pin Barcode', 'Sample Name', "
        "'Sample position', 'Comments', 'a', 'b', 'c', 'alpha', 'beta', 'gamma')",
    ]


def test_headers_match_ignoring_case_and_spaces_and_order(shipment):
    S = sheets()
    header = "sample NAME;Protein  acronym;Dewar Code;Container Code;Sample Position"
    rows = S.read_sheet(csv("x9;LYS;D1;P1;5", header=header), "ispyb")
    assert rows[0].values == {"sample": "x9", "protein": "LYS", "dewar": "D1",
                              "container": "P1", "position": "5"}
    assert rows[0].where("sample") == (2, "sample NAME")
    assert S.validate(rows, shipment).ok


def test_a_mixed_up_delimiter_is_named():
    S = sheets()
    with pytest.raises(S.SheetError) as caught:
        S.read_sheet(csv(line().replace(";", ","), header=HEADER.replace(";", ",")), "ispyb")
    assert str(caught.value) == "Row 1: the columns are separated by ',', but profile 'ispyb' " \
                                "expects ';'"
    with pytest.raises(S.SheetError) as caught:  # a ';' sheet read with the comma profile
        S.read_sheet(b"Dewar;Puck;Position;Protein;Sample\nD1;P1;1;LYS;x1\n", "simple")
    assert str(caught.value) == "Row 1: the columns are separated by ';', but profile " \
                                "'simple' expects ','"


def test_a_row_with_more_cells_than_headers_is_refused():
    S = sheets()
    with pytest.raises(S.SheetError) as caught:
        S.read_sheet(b"Dewar,Puck,Position,Protein,Sample\nD1,P1,1,LYS,x1,extra\n", "simple")
    assert str(caught.value) == ("Row 2: 6 cells for 5 columns: is a ',' inside a value?")


def test_bad_characters(shipment, person):
    rows, report = check(shipment, csv(line(sample="ok1"), line(position="2", sample="x 1/2"),
                                       line("Dewar #1", position="3", sample="x3")))
    expected = [
        "Row 3, column 'Sample Name': 'x 1/2' has characters other than letters, digits, _ "
        "and -",
        "Row 4, column 'Dewar Code': 'Dewar #1' has characters other than letters, digits, _ "
        "and - (space, '#')",
        "Row 4, column 'Container Code': container 'P1' is in dewar 'D1' in row 2",
    ]
    assert messages(report) == expected
    assert report.cell_errors()[(3, "sample")]
    assert_refused(shipment, rows, person, expected)


def test_positions_out_of_range(shipment, person):
    data = csv(line(position="17"), line(puck="S1", position="0", sample="x2"),
               line(puck="S2", position="abc", sample="x3"),
               "mx;;;;D1;S3;;;;LYS;;;;x4;11;;;;;;;")
    rows = sheets().read_sheet(data, "ispyb")
    rows[3].values["container_type"] = "spine"  # as a profile with a type column gives it
    rows[3].labels["container_type"] = "Container Type"
    report = sheets().validate(rows, shipment)
    expected = [
        "Row 2, column 'Sample position': 17 is outside 1..16 for a Unipuck",
        "Row 3, column 'Sample position': 0 is outside 1..16 for a Unipuck",
        "Row 4, column 'Sample position': 'abc' is not a whole number",
        "Row 5, column 'Sample position': 11 is outside 1..10 for a SPINE puck",
    ]
    assert messages(report) == expected
    assert_refused(shipment, rows, person, expected)


def test_unknown_proteins(shipment, person):
    rows, report = check(shipment, csv(line(protein="LYS"),
                                       line(position="2", protein="FOO", sample="f1")))
    expected = ["Row 3, column 'Protein Acronym': unknown protein 'FOO' in proposal mx1234 "
                "(known: LYS, TRY)"]
    assert messages(report) == expected
    assert_refused(shipment, rows, person, expected)
    # ticking "create new proteins" accepts it, and the acronym becomes the component
    report = sheets().validate(rows, shipment, create_proteins=True)
    assert report.ok and report.new_proteins == ["FOO"]
    sheets().import_sheet(shipment, rows, by=person, create_proteins=True)
    assert Sample.objects.filter(proposal=shipment.proposal, component="FOO", name="f1").exists()
    # a new acronym must still be a clean name
    rows, report = check(shipment, csv(line(position="3", protein="FOO BAR", sample="g1")),
                         create_proteins=True)
    assert messages(report) == ["Row 2, column 'Protein Acronym': 'FOO BAR' cannot be a new "
                                "protein acronym: use at most 45 letters, digits, _ and -"]


def test_proteins_of_another_proposal_are_unknown(shipment):
    SampleFactory(proposal=ProposalFactory(), component="GFP")
    _, report = check(shipment, csv(line(protein="GFP")))
    assert messages(report) == ["Row 2, column 'Protein Acronym': unknown protein 'GFP' in "
                                "proposal mx1234 (known: LYS, TRY)"]


def test_too_long_names(shipment, person):
    name = "a" * 26
    rows, report = check(shipment, csv(line(sample=name), line(position="2", sample="b" * 25)))
    expected = [f"Row 2, column 'Sample Name': '{name}' is longer than 25 characters (26)"]
    assert messages(report) == expected
    assert_refused(shipment, rows, person, expected)


def test_two_samples_in_one_position(shipment, person):
    rows, report = check(shipment, csv(line(position="5", sample="x1"),
                                       line(position="5", sample="x2"),
                                       line(puck="P2", position="5", sample="x3")))
    expected = ["Row 3, column 'Sample position': position 5 of container 'P1' is already "
                "taken by row 2"]
    assert messages(report) == expected
    assert_refused(shipment, rows, person, expected)


def test_a_position_already_filled_in_the_shipment(shipment, person):
    rows, _ = check(shipment, csv(line(position="5", sample="x1")))
    sheets().import_sheet(shipment, rows, by=person)
    rows, report = check(shipment, csv(line(position="5", sample="other")))
    expected = ["Row 2, column 'Sample position': position 5 of container 'P1' already holds "
                "sample 'LYS-x1'"]
    assert messages(report) == expected
    assert_refused(shipment, rows, person, expected)


def test_duplicates_in_the_sheet_and_in_the_proposal(shipment, person):
    rows, report = check(shipment, csv(line(sample="x1"), line(position="2", sample="x1"),
                                       line(position="3", sample="ref"),
                                       line(position="4", protein="TRY", sample="x1")))
    expected = [
        "Row 3, column 'Sample Name': duplicate sample 'x1' of protein 'LYS' (also in row 2)",
        "Row 4, column 'Sample Name': sample 'ref' of protein 'LYS' already exists in proposal "
        "mx1234",
    ]
    assert messages(report) == expected  # (TRY, x1) is another key: allowed
    assert_refused(shipment, rows, person, expected)


def test_a_sample_placed_elsewhere_is_a_duplicate(shipment, person):
    rows, _ = check(shipment, csv(line(position="1", sample="x1")))
    sheets().import_sheet(shipment, rows, by=person)
    _, report = check(shipment, csv(line(position="2", sample="x1")))
    assert messages(report) == ["Row 2, column 'Sample Name': sample 'x1' of protein 'LYS' "
                                "already exists in proposal mx1234 (in container 'P1' "
                                "position 1)"]


def test_missing_values_wrong_proposal_and_bad_numbers(shipment, person):
    rows, report = check(shipment, csv(
        line(sample="", code="fx"), line(position="2", sample="x2", number="999"),
        line(position="3", sample="x3", cell=("-1", "10", "x", "200", "90", "90"),
             res=("0", ""))))
    expected = [
        "Row 2, column 'Sample Name': is empty",
        "Row 2, column 'Proposal Code': 'fx' is not this shipment's proposal mx1234",
        "Row 3, column 'Proposal Number': '999' is not this shipment's proposal mx1234",
        "Row 4, column 'a': -1 must be more than 0",
        "Row 4, column 'c': 'x' is not a number",
        "Row 4, column 'alpha': 200 must be between 0 and 180",
        "Row 4, column 'Pre-observed Resolution': 0 must be more than 0",
    ]
    assert messages(report) == expected
    assert_refused(shipment, rows, person, expected)


def test_duplicate_pin_barcodes_and_container_moves(shipment, person):
    rows, report = check(shipment, csv(line(pin="PIN1"), line(position="2", sample="x2",
                                                              pin="PIN1")))
    assert messages(report) == ["Row 3, column 'Pin Barcode': pin barcode 'PIN1' is also in "
                                "row 2"]
    rows, _ = check(shipment, csv(line()))
    sheets().import_sheet(shipment, rows, by=person)
    _, report = check(shipment, csv(line("D2", "P1", "2", sample="x2")))
    assert messages(report) == ["Row 2, column 'Container Code': container 'P1' is already in "
                                "dewar 'D1' of this shipment"]


def test_nothing_is_imported_into_a_sent_shipment(shipment, person):
    models().Shipment.objects.filter(pk=shipment.pk).update(status="sent")
    shipment.refresh_from_db()
    rows, report = check(shipment, GOOD)
    expected = ["The shipment is 'Sent to facility': samples can no longer be added."]
    assert messages(report) == expected
    assert_refused(shipment, rows, person, expected)


# --- fixes -----------------------------------------------------------------------------------

def test_auto_fix_then_import_succeeds(shipment, person):
    long = "crystal_from_the_big_drop_07"  # 28 characters
    rows, report = check(shipment, csv(
        line(sample="x 1/2"), line(position="2", sample="dup"), line(position="3", sample="dup"),
        line(position="4", sample=long), line(position="5", sample="ref"),
        line("Dewar 1", "P 9", position="6", sample="dup_2")))
    assert not report.ok
    fixes = sheets().suggest_fixes(report)
    assert [str(f) for f in fixes] == [
        "Row 7: 'Dewar 1' → 'Dewar_1' (illegal characters)",
        "Row 7: 'P 9' → 'P_9' (illegal characters)",
        "Row 2: 'x 1/2' → 'x_1_2' (illegal characters)",
        "Row 4: 'dup' → 'dup_3' (duplicate name)",
        f"Row 5: '{long}' → '{long[:25]}' (longer than 25)",
        "Row 6: 'ref' → 'ref_2' (duplicate name)",
    ]
    fixed = sheets().apply_fixes(rows, fixes)
    assert rows[0].get("sample") == "x 1/2"  # the original rows are untouched
    report = sheets().validate(fixed, shipment)
    assert report.ok, messages(report)
    result = sheets().import_sheet(shipment, fixed, by=person)
    assert sorted(s.name for s in result.samples) == sorted(
        ["x_1_2", "dup", "dup_3", long[:25], "ref_2", "dup_2"])
    assert {d.code for d in result.dewars} == {"D1", "Dewar_1"}


def test_fixes_keep_suffixed_names_within_25_characters(shipment):
    name = "b" * 25
    rows, report = check(shipment, csv(line(sample=name), line(position="2", sample=name)))
    fixes = sheets().suggest_fixes(report)
    assert [(f.row, f.new) for f in fixes] == [(3, "b" * 23 + "_2")]
    assert sheets().validate(sheets().apply_fixes(rows, fixes), shipment).ok


# --- profiles --------------------------------------------------------------------------------

def test_the_simple_profile(shipment, person):
    rows = sheets().read_sheet("Dewar,Puck,Position,Protein,Sample\nD1,P1,3,LYS,s1\n", "simple")
    assert rows[0].values == {"dewar": "D1", "container": "P1", "position": "3",
                              "protein": "LYS", "sample": "s1"}
    sheets().import_sheet(shipment, rows, by=person)
    assert Sample.objects.get(name="s1").shipping_position.position == 3


def test_a_site_profile_from_the_plugin_settings(shipment, person, settings):
    settings.MMCAT_PLUGIN_SETTINGS = {"shipping": {"sheet_profiles": {"mylab": {
        "label": "My lab", "delimiter": "\t", "default_container_type": "spine",
        "columns": {"Dewar": "dewar", "Puck": "container", "Pos": "position",
                    "Protein": "protein", "Crystal": "sample", "Notes": ""}}}}}
    profile = sheets().profiles()["mylab"]
    assert profile.label == "My lab" and profile.delimiter == "\t"
    rows = sheets().read_sheet(b"Dewar\tPuck\tPos\tProtein\tCrystal\tNotes\n"
                               b"D1\tS1\t11\tLYS\tc1\tignored\n", profile)
    report = sheets().validate(rows, shipment,
                               default_container_type=profile.default_container_type)
    assert messages(report) == ["Row 2, column 'Pos': 11 is outside 1..10 for a SPINE puck"]
    rows[0].values["position"] = "10"
    sheets().import_sheet(shipment, rows, by=person, default_container_type="spine")
    assert models().Container.objects.get(code="S1").type == "spine"


def test_a_site_profile_with_an_unknown_field_is_refused(settings):
    settings.MMCAT_PLUGIN_SETTINGS = {"shipping": {"sheet_profiles": {"bad": {
        "columns": {"Dewar": "dewer"}}}}}
    with pytest.raises(ValueError, match="unknown fields"):
        sheets().profiles()


# --- paste -----------------------------------------------------------------------------------

@pytest.fixture
def container(shipment, person):
    from mmcat_shipping import services

    dewar = services.add_dewar(shipment, code="D1", by=person)
    return services.add_container(dewar, code="P1", type="unipuck", by=person)


def test_pasted_rows_go_into_the_container(shipment, container, person):
    text = ("Position\tProtein\tSample name\tPin barcode\n"
            "1\tLYS\tp1\tPIN-1\n\n"
            "2\tTRY\tp2\n")
    rows = sheets().parse_pasted(text, container)
    assert [(r.line, r.get("position"), r.get("protein"), r.get("sample")) for r in rows] == [
        (2, "1", "LYS", "p1"), (4, "2", "TRY", "p2")]
    result = sheets().import_sheet(shipment, rows, by=person)
    assert len(result.samples) == 2 and not result.containers and not result.dewars
    assert [(p.position, p.sample.name, p.pin_barcode) for p in container.positions.all()] == [
        (1, "p1", "PIN-1"), (2, "p2", "")]


def test_pasted_rows_are_validated_the_same_way(shipment, container, person):
    rows = sheets().parse_pasted("1\tLYS\tp 1\n17\tLYS\tp2\n3\tNOPE\tp3\n4\tLYS\n", container)
    expected = [
        "Row 1, column 'Sample name': 'p 1' has characters other than letters, digits, _ and -",
        "Row 2, column 'Position': 17 is outside 1..16 for a Unipuck",
        "Row 3, column 'Protein': unknown protein 'NOPE' in proposal mx1234 (known: LYS, TRY)",
        "Row 4, column 'Sample name': is empty",
    ]
    assert messages(sheets().validate(rows, shipment)) == expected
    assert_refused(shipment, rows, person, expected)
