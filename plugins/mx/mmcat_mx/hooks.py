"""The MX plugin's implementation of the mmCAT hooks."""

from mmcat.plugins.markers import hookimpl
from mmcat.plugins.types import Parser, TechniqueSpec

from .dictionary import PARAMETERS
from .parsers import autoproc_xml, xds_correct


@hookimpl
def mmcat_techniques():
    return [TechniqueSpec(slug="mx", label="Macromolecular crystallography",
                          parameters=PARAMETERS,
                          description="Rotation, helical and grid-scan X-ray diffraction.")]


@hookimpl
def mmcat_demo_data(demo):
    from .demo import load

    load(demo)


@hookimpl
def mmcat_ingest_parsers():
    return [
        Parser(name="ispyb_autoproc_xml",
               label="ISPyB AutoProcContainer XML (autoPROC, xia2, fast_dp)",
               detect=autoproc_xml.detect, parse=autoproc_xml.parse, technique="mx",
               file_kinds=(".xml",)),
        Parser(name="xds_correct_lp", label="XDS CORRECT.LP", detect=xds_correct.detect,
               parse=xds_correct.parse, technique="mx", file_kinds=("CORRECT.LP",)),
    ]
