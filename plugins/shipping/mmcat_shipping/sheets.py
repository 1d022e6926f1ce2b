"""Sample sheets: read a spreadsheet (CSV, .xls, .xlsx) or text pasted from one, check every cell
against the shipment, offer fixes, and import it into the shipment in one transaction.

The flow, used by the import page and the puck editor's paste box::

    rows = read_sheet(upload, PROFILES["ispyb"])      # or parse_pasted(text, container)
    report = validate(rows, shipment)                 # every error: (row, column, message)
    fixes = suggest_fixes(report)                     # illegal characters, long and duplicate names
    rows = apply_fixes(rows, fixes)
    result = import_sheet(shipment, rows, by=user)    # raises SheetInvalid unless valid

Row numbers and column headers in the messages are those the user sees in the spreadsheet
(the header line of a CSV is row 1; in the ISPyB .xls template position 1 is on row 7).

**Column profiles.** :data:`PROFILES` holds the built-in ones:

* ``ispyb`` (the default): ISPyB's CSV template, ``;``-separated, 22 columns (Proposal Code …
  gamma). It has no container type column: containers are Unipucks (the profile's
  ``default_container_type``).
* ``ispyb-xls-6.1``: ISPyB's spreadsheet template 6.1 (.xls read with xlrd, .xlsx with
  openpyxl): the puck name in cell D2, the dewar name in D3, the column headers on row 6 and
  positions 1–16 on rows 7–22. "Protein Acronym - SpaceGroup" may hold ``ACRONYM - P212121``.
* ``simple``: a comma-separated CSV with the columns Dewar, Puck, Position, Protein, Sample.

A site adds profiles with the plugin setting ``sheet_profiles``, a dict name → profile::

    MMCAT_PLUGIN_SETTINGS='{"shipping": {"sheet_profiles": {"mylab": {
        "label": "My lab's sheet", "delimiter": ",", "header_row": 1,
        "default_container_type": "spine",
        "columns": {"Dewar": "dewar", "Puck": "container", "Pos": "position",
                    "Protein": "protein", "Crystal": "sample", "Barcode": "pin_barcode"}}}}}'

The field names a column may map to are the keys of :data:`FIELDS`; columns mapped to ``""`` are
read and ignored. Headers are matched ignoring case and repeated spaces.

**Known proteins.** A protein acronym is known in a proposal when it is the ``component`` of one
of the proposal's samples, or the name of one of its samples that has no component and is the
parent of other samples (a protein registered as a sample). An unknown acronym is an error
unless the user asks to create new proteins (``validate(..., create_proteins=True)``); the
acronym then becomes the new samples' component.

**Samples.** Each sheet row creates one core Sample (component = protein acronym, name = sample
name, comments, and ``properties`` with ``space_group``, ``cell_a`` … ``cell_gamma``,
``pre_observed_resolution``, ``needed_resolution``, ``oscillation_range``, ``experiment_type``,
``protein_name`` when given) placed in its container position. A row identical to a sample
already in that position of this shipment is left alone, so importing a sheet twice changes
nothing; existing dewars and containers with the sheet's codes are reused.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import transaction

from mmcat.models import Sample

from . import states
from .models import Container, SamplePosition, Shipment

NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")
ILLEGAL_RE = re.compile(r"[^A-Za-z0-9_-]")
MAX_NAME = 25
MAX_CODE = 45
REALDATA = Path(__file__).parent / "realdata"

#: the fields a column can map to, with the label used when a column has no header
FIELDS = {
    "proposal_code": "Proposal Code",
    "proposal_number": "Proposal Number",
    "visit_number": "Visit Number",
    "shipping_name": "Shipping Name",
    "dewar": "Dewar Code",
    "container": "Container Code",
    "container_type": "Container Type",
    "position": "Sample position",
    "protein": "Protein Acronym",
    "protein_name": "Protein Name",
    "sample": "Sample Name",
    "pin_barcode": "Pin Barcode",
    "space_group": "Space Group",
    "cell_a": "a",
    "cell_b": "b",
    "cell_c": "c",
    "cell_alpha": "alpha",
    "cell_beta": "beta",
    "cell_gamma": "gamma",
    "pre_observed_resolution": "Pre-observed Resolution",
    "needed_resolution": "Needed Resolution",
    "oscillation_range": "Oscillation Range",
    "experiment_type": "Experiment Type",
    "comments": "Comments",
}
REQUIRED = ("dewar", "container", "position", "protein", "sample")
#: fields that make a row a sample; a row with none of them is an empty position and skipped
SAMPLE_FIELDS = ("protein", "sample", "pin_barcode", "space_group", "cell_a", "cell_b", "cell_c",
                 "cell_alpha", "cell_beta", "cell_gamma", "pre_observed_resolution",
                 "needed_resolution", "oscillation_range", "comments")
NUMBERS = {  # field: (minimum exclusive, maximum exclusive or None)
    "cell_a": (0, None), "cell_b": (0, None), "cell_c": (0, None),
    "cell_alpha": (0, 180), "cell_beta": (0, 180), "cell_gamma": (0, 180),
    "pre_observed_resolution": (0, None), "needed_resolution": (0, None),
    "oscillation_range": (0, None),
}
CONTAINER_TYPES = {
    "unipuck": Container.Type.UNIPUCK, "uni": Container.Type.UNIPUCK,
    "spine": Container.Type.SPINE, "spinepuck": Container.Type.SPINE,
    "spine puck": Container.Type.SPINE, "plate": Container.Type.PLATE,
    "plate (96)": Container.Type.PLATE, "other": Container.Type.OTHER,
}


# --- profiles --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Profile:
    """How a sheet is laid out. ``columns`` is a sequence of ``(header, field)`` or
    ``(header, field, label)``: the header as written in the sheet, the field it fills (a key of
    :data:`FIELDS`, or ``""`` to ignore the column) and the name used in messages when the
    header is blank or awkward. ``positional`` profiles (the .xls template) read column *i* as
    the i-th entry whatever its header says, after checking the non-blank headers."""

    name: str
    label: str
    columns: tuple = ()
    delimiter: str = ";"
    header_row: int = 1  # as the user sees it (1 = the first line)
    format: str = "csv"  # "csv" or "spreadsheet"
    positional: bool = False
    default_container_type: str = Container.Type.UNIPUCK
    #: spreadsheet profiles: field -> (row, column), 1-based, of a cell that holds the value
    #: for every row (the puck and dewar names of the ISPyB template)
    header_cells: tuple = ()
    #: spreadsheet profiles: the last row read (1-based); 0 = to the end
    last_row: int = 0

    def column_list(self) -> list[tuple[str, str, str]]:
        out = []
        for entry in self.columns:
            header, fld = entry[0], entry[1]
            label = entry[2] if len(entry) > 2 else (_norm_space(header) or FIELDS.get(fld, ""))
            out.append((header, fld, label))
        return out


ISPYB_CSV_HEADERS = [
    ("Proposal Code", "proposal_code"), ("Proposal Number", "proposal_number"),
    ("Visit Number", "visit_number"), ("Shipping Name", "shipping_name"),
    ("Dewar Code", "dewar"), ("Container Code", "container"),
    ("Pre-observed Resolution", "pre_observed_resolution"),
    ("Needed Resolution", "needed_resolution"), ("Oscillation Range", "oscillation_range"),
    ("Protein Acronym", "protein"), ("Protein Name", "protein_name"),
    ("Space Group", "space_group"), ("Pin Barcode", "pin_barcode"), ("Sample Name", "sample"),
    ("Sample position", "position"), ("Comments", "comments"), ("a", "cell_a"),
    ("b", "cell_b"), ("c", "cell_c"), ("alpha", "cell_alpha"), ("beta", "cell_beta"),
    ("gamma", "cell_gamma"),
]

PROFILES: dict[str, Profile] = {
    "ispyb": Profile(
        name="ispyb", label="ISPyB / EXI CSV (;-separated, 22 columns)",
        columns=tuple(ISPYB_CSV_HEADERS), delimiter=";"),
    "ispyb-xls-6.1": Profile(
        name="ispyb-xls-6.1", label="ISPyB spreadsheet template 6.1 (.xls / .xlsx)",
        format="spreadsheet", positional=True, header_row=6, last_row=22,
        header_cells=(("container", 2, 4), ("dewar", 3, 4)),
        columns=(
            ("Sample position", "position"), ("", ""),
            ("Protein Acronym - SpaceGroup", "protein", "Protein Acronym - SpaceGroup"),
            ("Space Group", "space_group"), ("Sample Name", "sample"),
            ("Pin Barcode", "pin_barcode"),
            ("Pre-observed Resolution", "pre_observed_resolution"),
            ("Needed Resolution", "needed_resolution"), ("Preferred beam diameter", ""),
            ("Experiment Type", "experiment_type"), ("Number of positions", ""),
            ("Radiation sensitivity", ""), ("Required completeness", ""),
            ("Required multiplicity", ""), ("a", "cell_a"),
            ("Unit Cell b c", "cell_b", "b"), ("", "cell_c", "c"),
            ("alpha", "cell_alpha"), ("beta", "cell_beta"), ("gamma", "cell_gamma"),
            ("Comments", "comments"),
        )),
    "simple": Profile(
        name="simple", label="Simple CSV (Dewar, Puck, Position, Protein, Sample)",
        delimiter=",",
        columns=(("Dewar", "dewar"), ("Puck", "container"), ("Position", "position"),
                 ("Protein", "protein"), ("Sample", "sample"))),
}
DEFAULT_PROFILE = "ispyb"


def profiles() -> dict[str, Profile]:
    """The built-in profiles and the site's (plugin setting ``sheet_profiles``)."""
    out = dict(PROFILES)
    try:
        extra = apps.get_app_config("shipping").get_setting("sheet_profiles") or {}
    except LookupError:  # pragma: no cover - the plugin is not enabled
        extra = {}
    for name, spec in extra.items():
        spec = dict(spec)
        columns = spec.pop("columns", {})
        if isinstance(columns, dict):
            columns = list(columns.items())
        unknown = [f for _, f, *__ in columns if f and f not in FIELDS]
        if unknown:
            raise ValueError(f"sheet profile {name!r}: unknown fields {unknown}")
        try:
            out[name] = Profile(name=name, label=spec.pop("label", name),
                                columns=tuple(tuple(c) for c in columns), **spec)
        except TypeError as exc:
            raise ValueError(f"sheet profile {name!r}: {exc}") from exc
    return out


# --- rows, errors, reports -------------------------------------------------------------------

@dataclass
class Row:
    """One line of a sheet: ``values`` by field, the ``labels`` (column headers) the user sees
    for each field, and ``lines``: fields read from another row than ``line`` (header cells)."""

    line: int
    values: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)
    lines: dict = field(default_factory=dict)

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    def where(self, name: str) -> tuple[int, str]:
        return self.lines.get(name, self.line), self.labels.get(name) or FIELDS.get(name, name)

    @property
    def blank(self) -> bool:
        return not any(self.get(f) for f in SAMPLE_FIELDS)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Row:
        return cls(line=data["line"], values=dict(data["values"]), labels=dict(data["labels"]),
                   lines={k: int(v) for k, v in data.get("lines", {}).items()})


@dataclass(frozen=True)
class CellError:
    row: int | None
    column: str
    message: str
    field: str = ""

    def __str__(self):
        if self.row is None:
            return self.message
        if not self.column:
            return f"Row {self.row}: {self.message}"
        return f"Row {self.row}, column '{self.column}': {self.message}"


class SheetError(ValueError):
    """The file cannot be read with this profile (wrong columns, wrong delimiter, not a sheet)."""

    def __init__(self, errors: list[CellError]):
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


@dataclass
class Report:
    rows: list[Row]
    errors: list[CellError] = field(default_factory=list)
    #: (protein, name) keys of samples in the proposal that a row may not reuse
    taken: set = field(default_factory=set)
    #: lines of rows identical to what is already in the shipment (left alone on import)
    unchanged: set = field(default_factory=set)
    create_proteins: bool = False
    new_proteins: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, row: Row, name: str, message: str) -> None:
        line, label = row.where(name)
        self.errors.append(CellError(line, label, message, name))

    def cell_errors(self) -> dict[tuple[int, str], list[str]]:
        """``{(row line, field): [messages]}`` for highlighting cells in a preview."""
        out = defaultdict(list)
        for e in self.errors:
            if e.row is not None:
                out[(e.row, e.field)].append(e.message)
        return dict(out)

    @property
    def samples(self) -> list[Row]:
        return [r for r in self.rows if not r.blank]


class SheetInvalid(ValidationError):
    def __init__(self, report: Report):
        self.report = report
        super().__init__([str(e) for e in report.errors])


# --- reading ---------------------------------------------------------------------------------

def _norm_space(text: str) -> str:
    return " ".join(str(text).split())


def _norm(text: str) -> str:
    return _norm_space(text).casefold()


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _read_bytes(file) -> bytes:
    if isinstance(file, bytes):
        return file
    if isinstance(file, str):
        return file.encode()
    if isinstance(file, Path):
        return file.read_bytes()
    data = file.read()
    return data.encode() if isinstance(data, str) else data


def read_sheet(file, profile: Profile | str = DEFAULT_PROFILE) -> list[Row]:
    """The rows of a sheet (bytes, text, a path or a file object), blank rows included (they
    are skipped by :func:`validate` and :func:`import_sheet`). Raises :class:`SheetError` when
    the header does not fit the profile."""
    if isinstance(profile, str):
        profile = profiles()[profile]
    data = _read_bytes(file)
    spreadsheet = profile.format == "spreadsheet"
    grid = _spreadsheet_grid(data) if spreadsheet else _csv_grid(data, profile)
    return _rows_from_grid(grid, profile)


def _csv_grid(data: bytes, profile: Profile) -> list[list[str]]:
    if data[:4] in (b"PK\x03\x04", b"\xd0\xcf\x11\xe0"):
        raise SheetError([CellError(None, "", f"This is a spreadsheet file, not a CSV: choose "
                                    f"a spreadsheet profile or save it as CSV "
                                    f"('{profile.delimiter}'-separated).")])
    text = _decode(data)
    return [list(r) for r in csv.reader(io.StringIO(text), delimiter=profile.delimiter)]


def _spreadsheet_grid(data: bytes) -> list[list[str]]:
    if data[:4] == b"\xd0\xcf\x11\xe0":
        import xlrd

        try:
            sheet = xlrd.open_workbook(file_contents=data).sheet_by_index(0)
        except xlrd.XLRDError as exc:
            raise SheetError([CellError(None, "", f"The .xls file cannot be read: {exc}")]
                             ) from exc
        return [[_cell_text(sheet.cell_value(r, c)) for c in range(sheet.ncols)]
                for r in range(sheet.nrows)]
    if data[:4] == b"PK\x03\x04":
        import openpyxl

        try:
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a bad file
            raise SheetError([CellError(None, "", f"The .xlsx file cannot be read: {exc}")]
                             ) from exc
        sheet = book.worksheets[0]
        grid = [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        book.close()
        return grid
    raise SheetError([CellError(None, "", "This is not an .xls or .xlsx spreadsheet: choose a "
                                "CSV profile for a text file.")])


def _header_errors(found: list[str], profile: Profile) -> list[CellError]:
    row = profile.header_row
    expected = profile.column_list()
    if profile.positional:
        errors = []
        for i, (header, _, label) in enumerate(expected):
            got = found[i] if i < len(found) else ""
            if header and _norm(got) != _norm(header):
                errors.append(CellError(row, label, f"expected the header '{_norm_space(header)}'"
                                        f", found '{_norm_space(got)}'"))
        return errors
    known = {_norm(h) for h, _, _ in expected}
    present = {_norm(h) for h in found if h.strip()}
    missing = [label for h, f, label in expected if f in REQUIRED and _norm(h) not in present]
    unknown = [h.strip() for h in found if h.strip() and _norm(h) not in known]
    seen, repeated = set(), []
    for h in found:
        if h.strip() and _norm(h) in seen:
            repeated.append(h.strip())
        seen.add(_norm(h))
    errors = []
    if missing:
        errors.append(CellError(row, "", "missing columns " + ", ".join(f"'{m}'" for m in missing)
                                + f" (profile '{profile.name}')"))
    if unknown:
        errors.append(CellError(row, "", "unknown columns " + ", ".join(f"'{u}'" for u in unknown)
                                + f" (profile '{profile.name}' has "
                                + ", ".join(f"'{label}'" for _, _, label in expected) + ")"))
    if repeated:
        errors.append(CellError(row, "", "repeated columns "
                                + ", ".join(f"'{r}'" for r in repeated)))
    if (missing or unknown) and len(found) <= 2:
        for other in (",", ";", "\t"):
            if other != profile.delimiter and len((found[0] if found else "").split(other)) > 1:
                name = {"\t": "tab", ",": "','", ";": "';'"}[other]
                return [CellError(row, "", f"the columns are separated by {name}, but profile "
                                  f"'{profile.name}' expects '{profile.delimiter}'")]
    return errors


def _rows_from_grid(grid: list[list[str]], profile: Profile) -> list[Row]:
    h = profile.header_row - 1
    if len(grid) <= h:
        raise SheetError([CellError(None, "", f"The sheet has no header row "
                                    f"{profile.header_row}.")])
    found = [_cell_text(c) for c in grid[h]]
    while found and not found[-1]:
        found.pop()
    errors = _header_errors(found, profile)
    if errors:
        raise SheetError(errors)
    expected = profile.column_list()
    if profile.positional:
        index = {i: (f, label) for i, (_, f, label) in enumerate(expected) if f}
    else:
        by_header = {_norm(hd): (f, label) for hd, f, label in expected}
        index = {i: (by_header[_norm(hd)][0], _norm_space(hd))
                 for i, hd in enumerate(found) if hd.strip() and by_header[_norm(hd)][0]}
    labels = {f: label for f, label in index.values()}
    fixed, lines = {}, {}
    for name, r, c in profile.header_cells:
        cells = grid[r - 1] if len(grid) >= r else []
        fixed[name] = _cell_text(cells[c - 1]) if len(cells) >= c else ""
        lines[name] = r
        labels[name] = _cell_text(cells[c - 2]) if len(cells) >= c - 1 and c > 1 else name
        labels[name] = labels[name] or FIELDS[name]
    end = profile.last_row or len(grid)
    rows = []
    for n in range(h + 1, min(end, len(grid))):
        cells = grid[n]
        values = dict(fixed)
        for i, (fld, _) in index.items():
            values[fld] = _cell_text(cells[i]) if i < len(cells) else ""
        extra = [c for i, c in enumerate(cells) if i >= len(found) and _cell_text(c)]
        row = Row(line=n + 1, values=values, labels=dict(labels), lines=dict(lines))
        if extra and not profile.positional:
            raise SheetError([CellError(n + 1, "", f"{len(cells)} cells for {len(found)} "
                                        f"columns: is a '{profile.delimiter}' inside a value?")])
        if fld_split := values.get("protein"):
            _split_protein(row, fld_split)
        rows.append(row)
    return rows


def _split_protein(row: Row, value: str) -> None:
    """'LYS - P43212' in the .xls template's "Protein Acronym - SpaceGroup" column."""
    if " - " in value:
        acronym, _, group = value.partition(" - ")
        row.values["protein"] = acronym.strip()
        if not row.get("space_group"):
            row.values["space_group"] = group.strip()


PASTE_COLUMNS = (("position", "Position"), ("protein", "Protein"), ("sample", "Sample name"),
                 ("pin_barcode", "Pin barcode"), ("space_group", "Space group"),
                 ("comments", "Comments"))


def parse_pasted(text: str, container: Container | None = None) -> list[Row]:
    """Rows from tab-separated text copied from a spreadsheet: position, protein, sample name,
    then optionally pin barcode, space group and comments. A first line whose first cell is not
    a number is taken as headers and skipped. Row numbers are the pasted lines."""
    rows = []
    labels = {f: label for f, label in PASTE_COLUMNS}
    base = {}
    if container is not None:
        base = {"dewar": container.dewar.code, "container": container.code,
                "container_type": container.type}
        labels.update(dewar="Dewar", container="Container", container_type="Container type")
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split("\t")]
        if n == 1 and _norm(cells[0]) in {"position", "pos", "sample position", "#"}:
            continue
        values = dict(base)
        for (fld, _), value in zip(PASTE_COLUMNS, cells, strict=False):
            values[fld] = value
        row = Row(line=n, values=values, labels=dict(labels))
        if len(cells) > len(PASTE_COLUMNS):
            row.values["_extra"] = str(len(cells))
        rows.append(row)
    return rows


# --- validation ------------------------------------------------------------------------------

def known_proteins(proposal) -> set[str]:
    components = Sample.objects.filter(proposal=proposal).exclude(component="")
    parents = Sample.objects.filter(proposal=proposal, component="", children__isnull=False)
    return (set(components.values_list("component", flat=True))
            | set(parents.values_list("name", flat=True)))


def _container_type(value: str, profile_default: str) -> str | None:
    if not value:
        return profile_default
    return CONTAINER_TYPES.get(_norm(value))


def _whole(value: str) -> int | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def _illegal(value: str) -> str:
    chars = sorted(set(ILLEGAL_RE.findall(value)), key=value.index)
    return ", ".join("space" if c == " " else f"'{c}'" for c in chars)


def validate(rows: list[Row], shipment: Shipment, *, create_proteins: bool = False,
             default_container_type: str = Container.Type.UNIPUCK) -> Report:
    """Every error of the sheet against the shipment, as (row, column, message)."""
    report = Report(rows=rows, create_proteins=create_proteins)
    proposal = shipment.proposal
    if not states.is_editable(shipment):
        report.errors.append(CellError(None, "", f"The shipment is "
                                       f"'{shipment.get_status_display()}': samples can no "
                                       f"longer be added."))
        return report
    samples = report.samples
    if not samples:
        report.errors.append(CellError(None, "", "The sheet has no samples."))
        return report

    containers = {c.code: c for c in Container.objects.filter(dewar__shipment=shipment)
                  .select_related("dewar")}
    occupied = {(p.container.code, p.position): p for p in SamplePosition.objects.filter(
        container__dewar__shipment=shipment).select_related("sample", "container")}
    names = {r.get("sample") for r in samples}
    existing = {(s.component, s.name): s for s in Sample.objects.filter(
        proposal=proposal, name__in=names).select_related(
        "shipping_position__container__dewar")}
    proteins = known_proteins(proposal)

    for row in rows:
        if row.values.get("_extra"):
            report.errors.append(CellError(row.line, "", f"{row.values['_extra']} cells: expected"
                                           f" at most {len(PASTE_COLUMNS)}"))
    # per-row checks
    container_seen: dict[str, tuple[Row, str, str]] = {}
    position_seen: dict[tuple[str, int], Row] = {}
    key_seen: dict[tuple[str, str], Row] = {}
    pin_seen: dict[str, Row] = {}
    new_proteins = []
    for row in samples:
        for name in REQUIRED:
            if not row.get(name):
                report.add(row, name, "is empty")
        _check_proposal(report, row, proposal)
        for name in ("dewar", "container"):
            value = row.get(name)
            if value and not NAME_RE.match(value):
                report.add(row, name, f"'{value}' has characters other than letters, digits, _ "
                           f"and - ({_illegal(value)})")
            elif len(value) > MAX_CODE:
                report.add(row, name, f"'{value}' is longer than {MAX_CODE} characters")
        sample = row.get("sample")
        if sample and not NAME_RE.match(sample):
            report.add(row, "sample", f"'{sample}' has characters other than letters, digits, _ "
                       f"and -")
        if len(sample) > MAX_NAME:
            report.add(row, "sample", f"'{sample}' is longer than {MAX_NAME} characters "
                       f"({len(sample)})")
        protein = row.get("protein")
        if protein and protein not in proteins:
            if not create_proteins:
                known = ", ".join(sorted(proteins)) or "none"
                report.add(row, "protein", f"unknown protein '{protein}' in proposal "
                           f"{proposal.reference} (known: {known})")
            elif not NAME_RE.match(protein) or len(protein) > MAX_CODE:
                report.add(row, "protein", f"'{protein}' cannot be a new protein acronym: use at "
                           f"most {MAX_CODE} letters, digits, _ and -")
            elif protein not in new_proteins:
                new_proteins.append(protein)
        for name, (low, high) in NUMBERS.items():
            value = row.get(name)
            if not value:
                continue
            try:
                number = float(value)
            except ValueError:
                report.add(row, name, f"'{value}' is not a number")
                continue
            if number <= low or (high is not None and number >= high):
                bounds = f"between {low} and {high}" if high else f"more than {low}"
                report.add(row, name, f"{value} must be {bounds}")
        pin = row.get("pin_barcode")
        if len(pin) > MAX_CODE:
            report.add(row, "pin_barcode", f"'{pin}' is longer than {MAX_CODE} characters")
        elif pin:
            if pin in pin_seen:
                report.add(row, "pin_barcode", f"pin barcode '{pin}' is also in row "
                           f"{pin_seen[pin].line}")
            else:
                pin_seen[pin] = row

        # the container: one dewar and one type per code, in the sheet and in the shipment
        code, dewar_code = row.get("container"), row.get("dewar")
        raw_type = row.get("container_type")
        ctype = _container_type(raw_type, default_container_type)
        if ctype is None:
            report.add(row, "container_type", f"unknown container type '{raw_type}' (use "
                       "Unipuck, SPINE puck, Plate or Other)")
        current = containers.get(code)
        if code and current is not None:
            if dewar_code and current.dewar.code != dewar_code:
                report.add(row, "container", f"container '{code}' is already in dewar "
                           f"'{current.dewar.code}' of this shipment")
            if raw_type and ctype and ctype != current.type:
                report.add(row, "container_type", f"container '{code}' is already a "
                           f"{current.get_type_display()}")
            ctype = current.type
        elif code in container_seen:
            first, first_dewar, first_type = container_seen[code]
            if dewar_code and first_dewar and dewar_code != first_dewar:
                report.add(row, "container", f"container '{code}' is in dewar '{first_dewar}' "
                           f"in row {first.line}")
            if ctype and first_type and ctype != first_type:
                report.add(row, "container_type", f"container '{code}' is a "
                           f"{Container.Type(first_type).label} in row {first.line}")
        elif code:
            container_seen[code] = (row, dewar_code, ctype)

        # the position
        raw = row.get("position")
        position = _whole(raw) if raw else None
        if raw and position is None:
            report.add(row, "position", f"'{raw}' is not a whole number")
        elif position is not None:
            capacity = current.capacity if current is not None else Container.CAPACITY.get(ctype)
            type_label = (current.get_type_display() if current is not None
                          else Container.Type(ctype).label if ctype else "container")
            if position < 1 or (capacity and position > capacity):
                bound = f"1..{capacity}" if capacity else "1.."
                report.add(row, "position", f"{position} is outside {bound} for a {type_label}")
            elif code:
                key = (code, position)
                if key in position_seen:
                    report.add(row, "position", f"position {position} of container '{code}' is "
                               f"already taken by row {position_seen[key].line}")
                else:
                    position_seen[key] = row
                    held = occupied.get(key)
                    if held is not None and (held.sample.component, held.sample.name) != (
                            protein, sample):
                        report.add(row, "position", f"position {position} of container "
                                   f"'{code}' already holds sample '{held.sample}'")

        # the (protein, sample name) key: unique in the sheet and in the proposal
        if protein and sample:
            key = (protein, sample)
            if key in key_seen:
                report.add(row, "sample", f"duplicate sample '{sample}' of protein '{protein}' "
                           f"(also in row {key_seen[key].line})")
                continue
            key_seen[key] = row
            found = existing.get(key)
            if found is None:
                continue
            placed = getattr(found, "shipping_position", None)
            if (placed is not None and placed.container.dewar.shipment_id == shipment.pk
                    and placed.container.code == code and placed.position == position
                    and placed.container.dewar.code == dewar_code):
                report.unchanged.add(row.line)
            else:
                report.taken.add(key)
                where = (f" (in container '{placed.container.code}' position {placed.position})"
                         if placed is not None else "")
                report.add(row, "sample", f"sample '{sample}' of protein '{protein}' already "
                           f"exists in proposal {proposal.reference}{where}")
    report.new_proteins = new_proteins
    return report


def _check_proposal(report: Report, row: Row, proposal) -> None:
    code, number = row.get("proposal_code"), row.get("proposal_number")
    if code and _norm(code) not in {proposal.code, proposal.reference}:
        report.add(row, "proposal_code", f"'{code}' is not this shipment's proposal "
                   f"{proposal.reference}")
    if number and _whole(number) != proposal.number:
        report.add(row, "proposal_number", f"'{number}' is not this shipment's proposal "
                   f"{proposal.reference}")


# --- fixes -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Fix:
    row: int
    field: str
    old: str
    new: str
    reason: str

    def __str__(self):
        return f"Row {self.row}: '{self.old}' → '{self.new}' ({self.reason})"


def suggest_fixes(report: Report) -> list[Fix]:
    """Fixes for the errors that have an obvious repair: illegal characters in sample names,
    dewar and container codes become '_', names are cut to 25 characters, and duplicate
    (protein, sample name) keys get the suffixes _2, _3…"""
    fixes = []
    failing = {(e.row, e.field) for e in report.errors}
    for row in report.samples:
        for name in ("dewar", "container"):
            value = row.get(name)
            if value and (row.where(name)[0], name) in failing and ILLEGAL_RE.search(value):
                fixes.append(Fix(row.where(name)[0], name, value, ILLEGAL_RE.sub("_", value),
                                 "illegal characters"))
    # sample names: clean, cut, then make unique in the sheet and against the proposal
    used = set(report.taken)
    clean = {}
    for row in report.samples:
        name, reasons = row.get("sample"), []
        if not name:
            continue
        if ILLEGAL_RE.search(name):
            name, reasons = ILLEGAL_RE.sub("_", name), ["illegal characters"]
        if len(name) > MAX_NAME:
            name = name[:MAX_NAME]
            reasons.append(f"longer than {MAX_NAME}")
        clean[row.line] = (name, reasons)
    keys = {(r.get("protein"), clean[r.line][0]) for r in report.samples if r.line in clean}
    for row in report.samples:
        if row.line not in clean:
            continue
        name, reasons = clean[row.line]
        protein = row.get("protein")
        if (protein, name) in used:
            suffix = 2
            while True:
                candidate = f"{name[:MAX_NAME - len(str(suffix)) - 1]}_{suffix}"
                if (protein, candidate) not in used and (protein, candidate) not in keys:
                    break
                suffix += 1
            name = candidate
            reasons.append("duplicate name")
        used.add((protein, name))
        if name != row.get("sample"):
            fixes.append(Fix(row.line, "sample", row.get("sample"), name, ", ".join(reasons)))
    return fixes


def apply_fixes(rows: list[Row], fixes: list[Fix]) -> list[Row]:
    """New rows with the fixes applied (the given rows are not changed)."""
    out = [Row.from_dict(r.to_dict()) for r in rows]
    for fix in fixes:
        for row in out:
            if row.where(fix.field)[0] == fix.row and row.get(fix.field) == fix.old:
                row.values[fix.field] = fix.new
    return out


# --- import ----------------------------------------------------------------------------------

@dataclass
class ImportResult:
    dewars: list = field(default_factory=list)  # created
    containers: list = field(default_factory=list)  # created
    samples: list = field(default_factory=list)  # created
    unchanged: int = 0  # rows already in the shipment

    def __str__(self):
        return (f"{len(self.samples)} samples, {len(self.containers)} containers and "
                f"{len(self.dewars)} dewars added; {self.unchanged} rows already there")


def _properties(row: Row) -> dict:
    props = {}
    for name in ("space_group", "experiment_type", "protein_name"):
        if row.get(name):
            props[name] = row.get(name)
    for name in NUMBERS:
        if row.get(name):
            props[name] = float(row.get(name))
    return props


def import_sheet(shipment: Shipment, rows: list[Row], *, by, create_proteins: bool = False,
                 default_container_type: str = Container.Type.UNIPUCK) -> ImportResult:
    """Create the sheet's dewars, containers and samples in one transaction, only if
    :func:`validate` finds nothing (raises :class:`SheetInvalid` with the report otherwise)."""
    with transaction.atomic():
        shipment = Shipment.objects.select_for_update().select_related("proposal").get(
            pk=shipment.pk)
        report = validate(rows, shipment, create_proteins=create_proteins,
                          default_container_type=default_container_type)
        if not report.ok:
            raise SheetInvalid(report)
        result = ImportResult(unchanged=len(report.unchanged))
        dewars = {d.code: d for d in shipment.dewars.all()}
        containers = {c.code: c for c in Container.objects.filter(dewar__shipment=shipment)}
        todo = [r for r in report.samples if r.line not in report.unchanged]
        highest = defaultdict(int)
        for row in todo:
            highest[row.get("container")] = max(highest[row.get("container")],
                                                int(float(row.get("position"))))
        for row in todo:
            try:
                _import_row(shipment, row, dewars, containers, highest, result, by=by,
                            default_container_type=default_container_type)
            except ValidationError as exc:  # a rule of the services that validate() missed
                messages = getattr(exc, "message_dict", {"": exc.messages})
                report.errors.extend(
                    CellError(row.line, row.where(_SERVICE_FIELDS.get(k, k))[1] if k else "",
                              " ".join(v), _SERVICE_FIELDS.get(k, k))
                    for k, v in messages.items())
                raise SheetInvalid(report) from exc
    return result


#: service error fields -> sheet fields
_SERVICE_FIELDS = {"code": "container", "type": "container_type", "capacity": "position",
                   "name": "sample", "component": "protein", "__all__": ""}


def _import_row(shipment, row, dewars, containers, highest, result, *, by,
                default_container_type) -> None:
    from . import services

    dewar = dewars.get(row.get("dewar"))
    if dewar is None:
        dewar = services.add_dewar(shipment, code=row.get("dewar"), by=by)
        dewars[dewar.code] = dewar
        result.dewars.append(dewar)
    container = containers.get(row.get("container"))
    if container is None:
        ctype = _container_type(row.get("container_type"), default_container_type)
        capacity = highest[row.get("container")] if ctype == Container.Type.OTHER else None
        container = services.add_container(dewar, code=row.get("container"), type=ctype,
                                           capacity=capacity, by=by)
        containers[container.code] = container
        result.containers.append(container)
    sample = Sample(proposal=shipment.proposal, name=row.get("sample"),
                    component=row.get("protein"), comments=row.get("comments"),
                    properties=_properties(row))
    sample.full_clean()
    sample.save()
    services.place_sample(container, int(float(row.get("position"))), sample,
                          pin_barcode=row.get("pin_barcode"))
    result.samples.append(sample)
