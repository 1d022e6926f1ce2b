"""The MX plugin's implementation of the mmCAT hooks."""

from mmcat.plugins.markers import hookimpl
from mmcat.plugins.types import Parser, TechniqueSpec

from .dictionary import PARAMETERS
from .parsers import (
    aimless,
    autoproc_xml,
    cbf,
    dials_expt,
    fast_dp,
    mtz,
    nexus,
    xds_ascii,
    xds_correct,
    xds_integrate,
    xia2_txt,
)


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
def mmcat_api_routes(router):
    from .api import CollectionViewSet, ProcessingViewSet

    router.register("mx/collections", CollectionViewSet, basename="mx-collection")
    router.register("mx/processing", ProcessingViewSet, basename="mx-processing")


@hookimpl
def mmcat_ingest_parsers():
    return [
        Parser(name="ispyb_autoproc_xml",
               label="ISPyB AutoProcContainer XML (autoPROC, xia2, fast_dp)",
               detect=autoproc_xml.detect, parse=autoproc_xml.parse, technique="mx",
               file_kinds=(".xml",)),
        Parser(name="xds_correct_lp", label="XDS CORRECT.LP", detect=xds_correct.detect,
               parse=xds_correct.parse, technique="mx", file_kinds=("CORRECT.LP",)),
        Parser(name="xds_integrate_lp", label="XDS INTEGRATE.LP",
               detect=xds_integrate.detect, parse=xds_integrate.parse, technique="mx",
               file_kinds=("INTEGRATE.LP", "_INTEGRATE.log")),
        Parser(name="xds_ascii_hkl", label="XDS_ASCII.HKL header", detect=xds_ascii.detect,
               parse=xds_ascii.parse, technique="mx", file_kinds=(".HKL",)),
        Parser(name="aimless_log", label="AIMLESS log", detect=aimless.detect,
               parse=aimless.parse, technique="mx", file_kinds=(".log",)),
        Parser(name="xia2_txt", label="xia2.txt", detect=xia2_txt.detect,
               parse=xia2_txt.parse, technique="mx", file_kinds=("xia2.txt",)),
        Parser(name="xia2_summary_dat", label="xia2-summary.dat",
               detect=xia2_txt.detect_summary, parse=xia2_txt.parse_summary, technique="mx",
               file_kinds=("xia2-summary.dat",)),
        Parser(name="fast_dp_json", label="fast_dp JSON", detect=fast_dp.detect,
               parse=fast_dp.parse, technique="mx", file_kinds=(".json",)),
        Parser(name="dials_experiment_list", label="DIALS experiment list",
               detect=dials_expt.detect, parse=dials_expt.parse, technique="mx",
               file_kinds=(".expt", ".json")),
        Parser(name="mtz", label="MTZ reflection file header", detect=mtz.detect,
               parse=mtz.parse, technique="mx", file_kinds=(".mtz",)),
        Parser(name="cbf_header", label="CBF image header (miniCBF and imgCIF)",
               detect=cbf.detect, parse=cbf.parse, technique="mx", file_kinds=(".cbf",)),
        Parser(name="nexus_nxmx", label="NeXus/NXmx (HDF5) master header",
               detect=nexus.detect, parse=nexus.parse, technique="mx",
               file_kinds=(".nxs", ".h5")),
    ]


# --- the crystallographer's screens (views.py): panels loaded lazily by the core pages ------

def _mx_session(session) -> bool:
    return "mx" in (session.beamline.techniques or []) or session.datasets.filter(
        technique="mx").exists()


@hookimpl
def mmcat_session_panels(session, request):
    from django.urls import reverse

    from mmcat.plugins.types import Panel

    if not _mx_session(session):
        return []
    return [Panel("Data collections (MX)",
                  reverse("mx:session-collections", args=[session.pk]), order=10)]


@hookimpl
def mmcat_dataset_panels(dataset, request):
    from django.urls import reverse

    from mmcat.plugins.types import Panel

    if dataset.technique != "mx":
        return []
    title = "MX collection" if dataset.kind == "raw" else "MX processing"
    return [Panel(title, reverse("mx:dataset-panel", args=[dataset.pk]), order=10)]
