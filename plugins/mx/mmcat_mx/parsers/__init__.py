"""Pure-Python parsers for MX processing files (no Django import).

Each module offers ``detect(path) -> bool`` (a cheap sniff of the first few kilobytes) and
``parse(path) -> dict`` (a JSON-serialisable result, or
:class:`mmcat.plugins.types.ParseError` naming the file and the problem):

* :mod:`.autoproc_xml`: ISPyB ``AutoProcContainer`` XML (autoPROC, xia2 ``ispyb.xml``, fast_dp).
* :mod:`.xds_correct`: XDS ``CORRECT.LP``.
"""

from . import autoproc_xml, xds_correct

__all__ = ["autoproc_xml", "xds_correct"]
