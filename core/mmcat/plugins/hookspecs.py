"""Every hook a plugin can implement. This file is the plugin contract; read it top to bottom.

Rules for all hooks:

* Implement them in your plugin's ``hooks`` module (``PluginConfig.hooks_module``) with
  ``@hookimpl`` from :mod:`mmcat.plugins.markers`; names start with ``mmcat_``. A misspelled name
  stops start-up (``check_pending``).
* Arguments are passed by keyword; you may accept only the ones you need.
* Collecting hooks return a list (or ``None`` for nothing); the core flattens the lists.
* Request-time hooks receive ``request`` so that the plugin can check permissions.
* Order results with ``tryfirst`` / ``trylast``, never by registration order.
"""

from __future__ import annotations

from .markers import hookspec

# --- what a plugin declares -------------------------------------------------------------------


@hookspec
def mmcat_techniques():
    """Techniques this plugin adds and the data-dictionary entries of their parameters.

    Called after ``migrate`` (the core upserts the parameter types) and when the dictionary is
    read. Returns ``list[TechniqueSpec]``.
    """


@hookspec
def mmcat_ingest_parsers():
    """File parsers: turn a pipeline's or instrument's file into a structured dict.

    Used by ``mmcat parse FILE``, by ingestion tasks and by the API. Returns ``list[Parser]``.
    """


@hookspec
def mmcat_periodic_tasks():
    """Celery beat entries the plugin needs. Returns ``list[PeriodicTask]``."""


# --- where a plugin appears -------------------------------------------------------------------


@hookspec
def mmcat_api_routes(router):
    """Register DRF viewsets on ``router`` (a DRF router mounted at ``/api/v1/``).

    Prefix your routes with your slug (``router.register("mx/collections", ...)``). Returns None.
    """


@hookspec
def mmcat_menu_items(request):
    """Navigation entries for the signed-in ``request.user``. Returns ``list[MenuItem]``."""


@hookspec
def mmcat_dashboard_widgets(request):
    """Cards on the home page, each loaded lazily from its URL. Returns ``list[Panel]``."""


@hookspec
def mmcat_proposal_panels(proposal, request):
    """Panels on a proposal page, each loaded lazily (htmx). Returns ``list[Panel]``."""


@hookspec
def mmcat_session_panels(session, request):
    """Panels on a session page, each loaded lazily (htmx). Returns ``list[Panel]``."""


@hookspec
def mmcat_dataset_panels(dataset, request):
    """Panels on a dataset page, each loaded lazily (htmx). Returns ``list[Panel]``."""


@hookspec
def mmcat_sample_panels(sample, request):
    """Panels on a sample page, each loaded lazily (htmx). Returns ``list[Panel]``."""


@hookspec
def mmcat_demo_data(demo):
    """Add this technique's demonstration data (``mmcat demo``): datasets in ``demo.sessions``,
    samples of ``demo.proposals``, ideally built from real files the plugin ships.

    ``demo`` is a :class:`~mmcat.plugins.types.DemoContext`. Called once, in a transaction, on an
    empty database. Return value ignored.
    """


# --- events -----------------------------------------------------------------------------------


@hookspec
def mmcat_dataset_created(dataset):
    """A dataset was created and its transaction committed. Return value ignored.

    Keep it quick: queue a Celery task for anything slow.
    """


@hookspec
def mmcat_job_finished(job):
    """A processing job reached ``succeeded`` or ``failed``. Return value ignored."""
