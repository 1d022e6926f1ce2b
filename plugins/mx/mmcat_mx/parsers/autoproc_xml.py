"""Parser for ISPyB ``AutoProcContainer`` XML (autoPROC, xia2 ``ispyb.xml``, fast_dp).

The XML maps one-to-one onto the ISPyB tables AutoProcProgram, AutoProcProgramAttachment,
AutoProc, AutoProcScalingStatistics and AutoProcIntegration. Known quirks handled here:

* autoPROC writes decimals without a leading zero (``.058``);
* autoPROC repeats identical AutoProc / AutoProcScalingContainer pairs, one per sweep: one set
  of values is returned, with the integrations of every container;
* xia2 puts the program container last and omits wavelength, ccHalf and processingStatus;
* unknown elements (``<foo>``) are ignored.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from ._common import fail, read_bytes, read_head, to_float, to_int

FORMAT = "ispyb_autoproc_xml"
ROOT_TAG = "AutoProcContainer"

_SNIFF = re.compile(
    r"^\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*|<!DOCTYPE[^>]*>\s*)*<(?:\w+:)?AutoProcContainer[\s>/]",
    re.S,
)

#: scalingStatisticsType value -> key in the result's "shells".
SHELL_TYPES = {"overall": "overall", "innerShell": "inner", "outerShell": "outer"}

#: (result key, XML element, converter) for one AutoProcScalingStatistics block.
SHELL_FIELDS = (
    ("resolution_low", "resolutionLimitLow", to_float),
    ("resolution_high", "resolutionLimitHigh", to_float),
    ("r_merge", "rMerge", to_float),
    ("r_meas_within", "rMeasWithinIPlusIMinus", to_float),
    ("r_meas_all", "rMeasAllIPlusIMinus", to_float),
    ("r_pim_within", "rPimWithinIPlusIMinus", to_float),
    ("r_pim_all", "rPimAllIPlusIMinus", to_float),
    ("n_observations", "nTotalObservations", to_int),
    ("n_unique", "nTotalUniqueObservations", to_int),
    ("mean_i_over_sigma", "meanIOverSigI", to_float),
    ("completeness", "completeness", to_float),
    ("multiplicity", "multiplicity", to_float),
    ("cc_half", "ccHalf", to_float),
    ("cc_anomalous", "ccAnomalous", to_float),
    ("anomalous_completeness", "anomalousCompleteness", to_float),
    ("anomalous_multiplicity", "anomalousMultiplicity", to_float),
    ("dano_over_sigdano", "DanoOverSigDano", to_float),
)

CELL_KEYS = ("a", "b", "c", "alpha", "beta", "gamma")

_STATUS_WORDS = {"success": 1, "successful": 1, "failed": 0, "failure": 0}


def detect(path: Path) -> bool:
    """True if the file's first few kilobytes start an ``AutoProcContainer`` document."""
    return bool(_SNIFF.match(read_head(path)))


def parse(path: Path) -> dict[str, Any]:
    """Parse an ISPyB AutoProcContainer XML file; raise ParseError if it is not one."""
    path = Path(path)
    root = _load_root(path)
    program_el, attachment_els = _program_elements(root, path)
    autoproc = _autoproc(root, path)
    scaling = root.findall("AutoProcScalingContainer")
    return {
        "format": FORMAT,
        "program": _program(program_el, path),
        "attachments": [_attachment(el) for el in attachment_els],
        "space_group": autoproc["space_group"],
        "wavelength": autoproc["wavelength"],
        "cell": autoproc["cell"],
        "shells": _shells(scaling, path),
        "integrations": [
            _integration(el, path)
            for container in scaling
            for el in container.findall("AutoProcIntegrationContainer")
        ],
        "record_time": _text(scaling[0], "AutoProcScaling/recordTimeStamp") if scaling else None,
    }


def _load_root(path: Path) -> ET.Element:
    """Parse the XML, strip any namespaces and check the root element."""
    data = read_bytes(path)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise fail(path, f"malformed or truncated XML ({exc})") from None
    except (LookupError, ValueError) as exc:  # e.g. an unknown encoding declaration
        raise fail(path, f"unreadable XML ({exc})") from None
    for element in root.iter():
        if isinstance(element.tag, str):
            element.tag = element.tag.rsplit("}", 1)[-1]
    if root.tag != ROOT_TAG:
        raise fail(path, f"root element is <{root.tag}>, expected <{ROOT_TAG}>")
    return root


def _text(element: ET.Element, tag: str) -> str | None:
    """Stripped text of the sub-element ``tag`` (a path), or None if absent or empty."""
    found = element.find(tag)
    if found is None or found.text is None or not found.text.strip():
        return None
    return found.text.strip()


def _program_elements(root: ET.Element, path: Path) -> tuple[ET.Element, list[ET.Element]]:
    """The AutoProcProgram element and its attachments (first program container)."""
    container = root.find("AutoProcProgramContainer")
    program = container.find("AutoProcProgram") if container is not None else None
    if program is None:
        raise fail(path, "no AutoProcProgramContainer/AutoProcProgram element")
    return program, container.findall("AutoProcProgramAttachment")


def _program(element: ET.Element, path: Path) -> dict[str, Any]:
    """Program name, version, command line, status and times from AutoProcProgram."""
    programs = _text(element, "processingPrograms")
    if programs is None:
        raise fail(path, "AutoProcProgram has no processingPrograms")
    words = programs.split()
    version = words[1] if len(words) > 1 and words[1][:1].isdigit() else None
    return {
        "name": words[0],
        "programs": programs,
        "version": version,
        "command_line": _text(element, "processingCommandLine"),
        "status": _status(_text(element, "processingStatus"), path),
        "start_time": _text(element, "processingStartTime"),
        "end_time": _text(element, "processingEndTime"),
    }


def _status(text: str | None, path: Path) -> int | None:
    """processingStatus as an int (ISPyB: 1 success, 0 failure); accepts SUCCESS/FAILED."""
    if text is None:
        return None
    word = _STATUS_WORDS.get(text.lower())
    return word if word is not None else to_int(text, path, "processingStatus")


def _attachment(element: ET.Element) -> dict[str, str | None]:
    """One AutoProcProgramAttachment."""
    return {
        "file_type": _text(element, "fileType"),
        "file_name": _text(element, "fileName"),
        "file_path": _text(element, "filePath"),
    }


def _cell(element: ET.Element, prefix: str, path: Path) -> dict[str, float | None]:
    """The six cell parameters from elements ``<prefix>a`` … ``<prefix>gamma``."""
    return {key: to_float(_text(element, prefix + key), path, prefix + key) for key in CELL_KEYS}


def _autoproc(root: ET.Element, path: Path) -> dict[str, Any]:
    """Space group, wavelength and refined cell; all AutoProc blocks must agree."""
    blocks = [
        {
            "space_group": _text(el, "spaceGroup"),
            "wavelength": to_float(_text(el, "wavelength"), path, "wavelength"),
            "cell": _cell(el, "refinedCell_", path),
        }
        for el in root.findall("AutoProc")
    ]
    if not blocks:
        return {"space_group": None, "wavelength": None, "cell": dict.fromkeys(CELL_KEYS)}
    if any(block != blocks[0] for block in blocks[1:]):
        raise fail(path, f"the {len(blocks)} AutoProc blocks disagree; cannot choose one")
    return blocks[0]


def _shell(element: ET.Element, path: Path) -> dict[str, Any]:
    """One AutoProcScalingStatistics block as a flat dict."""
    return {key: conv(_text(element, tag), path, tag) for key, tag, conv in SHELL_FIELDS}


def _container_shells(container: ET.Element, path: Path) -> dict[str, dict[str, Any] | None]:
    """The overall/inner/outer shells of one AutoProcScalingContainer (unknown types ignored)."""
    shells: dict[str, dict[str, Any] | None] = dict.fromkeys(SHELL_TYPES.values())
    for element in container.findall("AutoProcScalingStatistics"):
        key = SHELL_TYPES.get(_text(element, "scalingStatisticsType") or "")
        if key is None:
            continue
        if shells[key] is not None:
            raise fail(path, f"scalingStatisticsType {key!r} appears twice in one container")
        shells[key] = _shell(element, path)
    return shells


def _shells(containers: list[ET.Element], path: Path) -> dict[str, dict[str, Any]]:
    """One set of shells; repeated containers must carry the same statistics."""
    per_container = [_container_shells(container, path) for container in containers]
    if any(shells != per_container[0] for shells in per_container[1:]):
        raise fail(path, "the AutoProcScalingContainer blocks carry different statistics")
    first = per_container[0] if per_container else dict.fromkeys(SHELL_TYPES.values())
    empty = {key: None for key, _tag, _conv in SHELL_FIELDS}
    return {key: shell if shell is not None else dict(empty) for key, shell in first.items()}


def _integration(container: ET.Element, path: Path) -> dict[str, Any]:
    """One AutoProcIntegrationContainer: image range, geometry, cell and first image."""
    element = container.find("AutoProcIntegration")
    if element is None:
        raise fail(path, "AutoProcIntegrationContainer without AutoProcIntegration")
    number = {
        "start_image": to_int(_text(element, "startImageNumber"), path, "startImageNumber"),
        "end_image": to_int(_text(element, "endImageNumber"), path, "endImageNumber"),
    }
    for key, tag in (
        ("detector_distance", "refinedDetectorDistance"),
        ("beam_x", "refinedXBeam"),
        ("beam_y", "refinedYBeam"),
    ):
        number[key] = to_float(_text(element, tag), path, tag)
    return {
        **number,
        "cell": _cell(element, "cell_", path),
        "image_file": _text(container, "Image/fileName"),
        "image_directory": _text(container, "Image/fileLocation"),
    }
