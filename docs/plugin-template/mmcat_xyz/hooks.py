"""The XYZ plugin's implementation of the mmCAT hooks (see mmcat/plugins/hookspecs.py).

The core imports this module once the app registry is ready (``PluginConfig.hooks_module``).
Function names must match a hookspec exactly: a misspelled ``mmcat_*`` name stops start-up.
"""

from django.urls import reverse
from mmcat.plugins.markers import hookimpl
from mmcat.plugins.types import MenuItem, Panel, ParameterSpec, Parser, TechniqueSpec

from . import parser
from .api import ScanViewSet
from .demo import load as load_demo

SLUG = "xyz"

#: The data-dictionary entries of an XYZ dataset. Keys are global across techniques: prefix them
#: with the slug. Numbers are stored in ``unit``; a client may send another unit of the same
#: dimension ({"value": 12400, "unit": "eV"}) and the core converts it.
PARAMETERS = [
    ParameterSpec("xyz_energy", "Excitation energy", unit="keV", minimum=1, maximum=100,
                  description="Energy of the incident beam."),
    ParameterSpec("xyz_points", "Number of scan points", value_kind="integer", minimum=1),
    ParameterSpec("xyz_mode", "Detection mode", value_kind="enum", choices=parser.MODES),
]


@hookimpl
def mmcat_techniques():
    return [TechniqueSpec(slug=SLUG, label="XYZ scanning", parameters=PARAMETERS,
                          description="A made-up technique: the mmCAT plugin template.")]


@hookimpl
def mmcat_ingest_parsers():
    return [Parser(name=parser.FORMAT, label="XYZ-SCAN text file", detect=parser.detect,
                   parse=parser.parse, technique=SLUG, file_kinds=(".xyz",))]


@hookimpl
def mmcat_api_routes(router):
    router.register(f"{SLUG}/scans", ScanViewSet, basename=f"{SLUG}-scan")


@hookimpl
def mmcat_menu_items(request):
    return [MenuItem("XYZ scans", reverse("xyz:index"), order=60)]


@hookimpl
def mmcat_session_panels(session, request):
    # Cheap test, no query: show the panel only on instruments that offer the technique.
    if SLUG not in (session.beamline.techniques or []):
        return None
    return [Panel("XYZ scans", reverse("xyz:session-panel", args=[session.pk]), order=50)]


@hookimpl
def mmcat_demo_data(demo):
    load_demo(demo)
