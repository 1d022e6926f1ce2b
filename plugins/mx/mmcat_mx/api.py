"""``/api/v1/mx/``: the API that beamline control (MXCuBE-like clients) and processing pipelines
call. Every queryset starts from :mod:`mmcat.permissions`, so what a user may not see is a 404;
every write goes through :mod:`mmcat_mx.ingest` (validation naming the field, one transaction,
idempotent retries).

* ``mx/collections/``: start (POST), list, detail; ``{id}/images/`` (per-image quality),
  ``{id}/finish/``, ``{id}/strategies/``.
* ``mx/processing/``: results as JSON (POST), list (``?session=``), detail; ``files/`` (pipeline
  output files, parsed by the ``mx.ingest_processing`` job).
"""

from __future__ import annotations

from django.db.models import Avg, Count, Max, Min, Prefetch, Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
)
from rest_framework import mixins, parsers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from mmcat import permissions as perms
from mmcat.models import DatasetLink

from . import ingest
from .models import (
    DataCollection,
    DataCollectionGroup,
    GridInfo,
    ImageQuality,
    ProcessingMessage,
    ProcessingRun,
    ScreeningStrategy,
    ShellStatistics,
)
from .results import SHELL_FIELDS, SHELL_NAMES

CELL_KEYS = ("a", "b", "c", "alpha", "beta", "gamma")


# --- serializers (read) ---------------------------------------------------------------------


class GroupSerializer(serializers.ModelSerializer):
    class Meta:
        model = DataCollectionGroup
        fields = ["id", "session", "sample", "experiment_type", "start_time", "end_time",
                  "comments"]


class GridSerializer(serializers.ModelSerializer):
    class Meta:
        model = GridInfo
        fields = ["steps_x", "steps_y", "dx", "dy", "snaked", "orientation"]


class StrategySerializer(serializers.ModelSerializer):
    class Meta:
        model = ScreeningStrategy
        fields = ["program", "rank", "space_group", "axis_start", "axis_end",
                  "oscillation_range", "exposure_time", "transmission", "resolution",
                  "completeness", "multiplicity", "number_of_images", "comments"]


class ShellSerializer(serializers.ModelSerializer):
    class Meta:
        model = ShellStatistics
        fields = list(SHELL_FIELDS)


class MessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProcessingMessage
        fields = ["severity", "text"]


def _shells(run: ProcessingRun) -> dict:
    """``{"overall": {...}, "inner": ..., "outer": ...}`` from the prefetched shells."""
    rows = {row.shell: ShellSerializer(row).data for row in run.shells.all()}
    return {name: rows[name] for name in SHELL_NAMES if name in rows}


def _parameters(dataset) -> dict:
    return {pv.type.key: pv.value for pv in dataset.parameters.all()}


class CollectionSerializer(serializers.ModelSerializer):
    """A data collection with its group, grid, parameters, image count and the processing
    runs made from it."""

    id = serializers.IntegerField(source="dataset_id", read_only=True)
    name = serializers.CharField(source="dataset.name", read_only=True)
    session = serializers.IntegerField(source="dataset.session_id", read_only=True)
    session_reference = serializers.CharField(source="dataset.session.reference",
                                              read_only=True)
    sample = serializers.IntegerField(source="dataset.sample_id", read_only=True)
    state = serializers.CharField(source="dataset.state", read_only=True)
    start_time = serializers.DateTimeField(source="dataset.start_time", read_only=True)
    end_time = serializers.DateTimeField(source="dataset.end_time", read_only=True)
    group = GroupSerializer(read_only=True)
    grid = serializers.SerializerMethodField()
    parameters = serializers.SerializerMethodField()
    image_count = serializers.IntegerField(read_only=True)
    runs = serializers.SerializerMethodField()

    class Meta:
        model = DataCollection
        fields = ["id", "name", "session", "session_reference", "sample", "state",
                  "start_time", "end_time", "group", "image_directory", "image_template",
                  "first_image", "number_of_images", "axis", "beam_x", "beam_y", "snapshots",
                  "grid", "parameters", "image_count", "runs"]

    @extend_schema_field(GridSerializer(allow_null=True))
    def get_grid(self, obj):
        grid = getattr(obj, "grid", None)
        return GridSerializer(grid).data if grid is not None else None

    def get_parameters(self, obj) -> dict:
        return _parameters(obj.dataset)

    def get_runs(self, obj) -> list:
        runs = []
        for link in obj.dataset.output_links.all():
            run = link.output.mx_processing
            shells = _shells(run)
            runs.append({"id": run.dataset_id, "name": link.output.name,
                         "kind": link.output.kind, "pipeline": run.pipeline,
                         "status": run.status, "space_group": run.space_group,
                         "overall": shells.get("overall")})
        return runs


class CollectionDetailSerializer(CollectionSerializer):
    image_quality = serializers.SerializerMethodField()
    strategies = StrategySerializer(many=True, read_only=True)

    class Meta(CollectionSerializer.Meta):
        fields = [*CollectionSerializer.Meta.fields, "image_quality", "strategies"]

    def get_image_quality(self, obj) -> dict:
        """Summary of the per-image quality: counts, hits (images with spots), best values."""
        summary = obj.image_quality.aggregate(
            images=Count("id"), hits=Count("id", filter=Q(spots__gt=0)),
            max_spots=Max("spots"), mean_spots=Avg("spots"),
            best_resolution=Min("resolution_estimate"),
            first_image=Min("image_number"), last_image=Max("image_number"))
        if summary["mean_spots"] is not None:
            summary["mean_spots"] = round(summary["mean_spots"], 2)
        return summary


class ProcessingRunSerializer(serializers.ModelSerializer):
    """A processing run: the processed dataset's id and name, the run, its shells, messages
    and inputs."""

    id = serializers.IntegerField(source="dataset_id", read_only=True)
    name = serializers.CharField(source="dataset.name", read_only=True)
    session = serializers.IntegerField(source="dataset.session_id", read_only=True)
    kind = serializers.CharField(source="dataset.kind", read_only=True)
    cell = serializers.SerializerMethodField()
    inputs = serializers.SerializerMethodField()
    shells = serializers.SerializerMethodField()
    messages = MessageSerializer(many=True, read_only=True)

    class Meta:
        model = ProcessingRun
        fields = ["id", "name", "session", "kind", "pipeline", "program", "version",
                  "command_line", "status", "start_time", "end_time", "space_group", "cell",
                  "anomalous", "job", "inputs", "shells", "messages"]

    def get_cell(self, obj) -> dict | None:
        cell = {key: getattr(obj, f"cell_{key}") for key in CELL_KEYS}
        return cell if any(v is not None for v in cell.values()) else None

    def get_inputs(self, obj) -> list[int]:
        return [link.input_id for link in obj.dataset.input_links.all()]

    def get_shells(self, obj) -> dict:
        return _shells(obj)


# --- helpers --------------------------------------------------------------------------------


def _error(exc: ingest.IngestError) -> Response:
    return Response(exc.errors, status=exc.status)


def _session_condition(value: str, prefix: str) -> Q:
    """``?session=`` as an id or a reference (mx1234-5)."""
    if value.isdigit():
        return Q(**{f"{prefix}session_id": int(value)})
    match = ingest.SESSION_REF_RE.match(value)
    if match is None:
        raise ValidationError({"session": [f"{value!r} is neither a session id nor a "
                                           f"reference such as mx1234-5."]})
    return Q(**{f"{prefix}session__proposal__code": match["code"],
                f"{prefix}session__proposal__number": int(match["number"]),
                f"{prefix}session__number": int(match["visit"])})


def _int_param(request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    if not value.isdigit():
        raise ValidationError({name: [f"Expected an id, got {value!r}."]})
    return int(value)


SESSION_PARAM = OpenApiParameter("session", str, description="Session id or reference "
                                                             "(mx1234-5).")

START_EXAMPLE = {
    "session": "mx2024-1", "sample": 12, "experiment_type": "SAD", "name": "BAZ2BA-x828_1",
    "image_directory": "/dls/i04-1/data/2014/nt5073-16/BAZ2BA/BAZ2BA-x828",
    "image_template": "BAZ2BA-x828_1_####.cbf", "first_image": 1, "number_of_images": 1800,
    "axis": "omega", "start_time": "2026-11-24T10:02:11Z",
    "parameters": {"wavelength": 0.92, "exposure_time": {"value": 50, "unit": "ms"},
                   "oscillation_start": 0, "oscillation_range": 0.1,
                   "detector_distance": 189.45, "transmission": 20, "detector": "PILATUS 6M"},
}
GRID_EXAMPLE = {
    "session": "mx2024-1", "name": "x828_grid_1", "start_time": "2026-11-24T09:50:00Z",
    "grid": {"steps_x": 20, "steps_y": 15, "dx": 10, "dy": 10, "snaked": True},
    "parameters": {"wavelength": 0.92, "exposure_time": 0.02},
}
PROCESSING_EXAMPLE = {
    "collections": [4711], "pipeline": "autoPROC", "run_id": "ap-20240221-1",
    "program": "autoPROC 1.1.7", "version": "1.1.7", "status": "success",
    "start_time": "2024-02-21T13:44:19+01:00", "end_time": "2024-02-21T14:43:47+01:00",
    "space_group": "P 3 2 1", "cell": [148.469, 148.469, 100.654, 90, 90, 120],
    "anomalous": True, "wavelength": 0.96546,
    "shells": {
        "overall": {"resolution_low": 100.654, "resolution_high": 2.199, "r_merge": 0.513,
                    "r_meas": 0.543, "r_pim": 0.174, "i_over_sigma": 8.7, "cc_half": 0.968,
                    "completeness": 98.9, "multiplicity": 8.2, "n_observations": 530047,
                    "n_unique": 64583},
        "outer": {"resolution_low": 2.236, "resolution_high": 2.199, "mean_i_over_sigma": 1.4,
                  "cc_half": 0.330, "completeness": 94.4},
    },
    "messages": [{"severity": "warning", "text": "Ice rings detected at 3.9 Å"}],
}


# --- collections ----------------------------------------------------------------------------


class CollectionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        viewsets.GenericViewSet):
    """MX data collections: what the beamline records while it acquires.

    A collection's id is the id of its core dataset (``/api/v1/datasets/{id}/``).
    """

    queryset = DataCollection.objects.none()  # for the schema; see get_queryset
    serializer_class = CollectionSerializer
    lookup_url_kwarg = "id"
    lookup_value_regex = r"\d+"

    def _visible(self):
        return DataCollection.objects.filter(
            dataset__in=perms.visible_datasets(self.request.user))

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return DataCollection.objects.none()
        if self.action in ("images", "finish", "strategies"):
            return self._visible().select_related("dataset")
        queryset = self._full()
        if self.action == "list":
            queryset = self._filter(queryset)
        return queryset

    def _full(self):
        """With everything the serializers show, in a fixed number of queries."""
        runs = (DatasetLink.objects
                .filter(output__mx_processing__isnull=False,
                        output__in=perms.visible_datasets(self.request.user))
                .select_related("output__mx_processing")
                .prefetch_related("output__mx_processing__shells")
                .order_by("output_id"))
        queryset = (self._visible()
                    .select_related("dataset__session__proposal", "group", "grid")
                    .prefetch_related("dataset__parameters__type",
                                      Prefetch("dataset__output_links", queryset=runs))
                    .annotate(image_count=Count("image_quality"))
                    .order_by("-dataset__start_time", "-dataset_id"))
        if self.action != "list":
            queryset = queryset.prefetch_related("strategies")
        return queryset

    def _filter(self, queryset):
        params = self.request.query_params
        if params.get("session"):
            queryset = queryset.filter(_session_condition(params["session"], "dataset__"))
        for name, field in (("group", "group_id"), ("sample", "dataset__sample_id")):
            value = _int_param(self.request, name)
            if value is not None:
                queryset = queryset.filter(**{field: value})
        if params.get("experiment_type"):
            queryset = queryset.filter(group__experiment_type=params["experiment_type"])
        if params.get("state"):
            queryset = queryset.filter(dataset__state=params["state"])
        return queryset

    def get_serializer_class(self):
        if self.action == "retrieve":
            return CollectionDetailSerializer
        return CollectionSerializer

    def _answer(self, pk: int, code: int) -> Response:
        collection = self._full().get(pk=pk)
        return Response(CollectionDetailSerializer(collection).data, status=code)

    @extend_schema(parameters=[
        SESSION_PARAM,
        OpenApiParameter("group", int), OpenApiParameter("sample", int),
        OpenApiParameter("experiment_type", str), OpenApiParameter("state", str)])
    def list(self, request, *args, **kwargs):
        """Collections you may see, newest first, with their group, image count and runs."""
        return super().list(request, *args, **kwargs)

    @extend_schema(request=OpenApiTypes.OBJECT,
                   responses={201: CollectionDetailSerializer, 200: CollectionDetailSerializer},
                   examples=[OpenApiExample("A rotation", value=START_EXAMPLE),
                             OpenApiExample("A grid scan", value=GRID_EXAMPLE)])
    def create(self, request, *args, **kwargs):
        """Start a collection: core dataset (state running) + DataCollection (+ group, + grid),
        atomically. Retrying the same start answers 200 with the stored collection; a start
        with the same (session, name) but other values is a 409."""
        try:
            collection, created = ingest.start_collection(request.user, request.data)
        except ingest.IngestError as exc:
            return _error(exc)
        return self._answer(collection.pk, status.HTTP_201_CREATED if created
                            else status.HTTP_200_OK)

    @extend_schema(methods=["POST"], request=OpenApiTypes.OBJECT,
                   responses={200: OpenApiTypes.OBJECT},
                   examples=[OpenApiExample("Spot finding of two images", value=[
                       {"image_number": 1, "spots": 412, "bragg_candidates": 377,
                        "resolution_estimate": 1.9, "total_intensity": 1.2e6},
                       {"image_number": 2, "spots": 398, "bragg_candidates": 361,
                        "resolution_estimate": 2.0}])])
    @extend_schema(methods=["GET"], responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get", "post"])
    def images(self, request, id=None):
        """GET: every image's quality, by image number. POST: upsert up to 10 000 images
        (``image_number`` counts from 1 within the collection; a field left out keeps its
        stored value)."""
        collection = self.get_object()
        if request.method == "GET":
            rows = list(ImageQuality.objects.filter(collection=collection).values(
                "image_number", *ingest.IMAGE_FIELDS))
            return Response({"count": len(rows), "images": rows})
        try:
            counts = ingest.add_image_quality(collection, request.data)
        except ingest.IngestError as exc:
            return _error(exc)
        return Response(counts)

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: CollectionDetailSerializer},
                   examples=[OpenApiExample("Complete", value={
                       "end_time": "2026-11-24T10:05:41Z", "state": "complete",
                       "snapshots": ["/data/snapshots/x828_1_0.png"],
                       "parameters": {"flux": 2.1e12}})])
    @action(detail=True, methods=["post"])
    def finish(self, request, id=None):
        """End a collection: ``end_time``, ``state`` (complete, failed, aborted), optional
        ``snapshots``, ``number_of_images`` and final ``parameters``."""
        collection = self.get_object()
        try:
            ingest.finish_collection(collection, request.data)
        except ingest.IngestError as exc:
            return _error(exc)
        return self._answer(collection.pk, status.HTTP_200_OK)

    @extend_schema(methods=["POST"], request=StrategySerializer(many=True),
                   responses={200: StrategySerializer(many=True)})
    @extend_schema(methods=["GET"], responses={200: StrategySerializer(many=True)})
    @action(detail=True, methods=["get", "post"])
    def strategies(self, request, id=None):
        """The screening strategies of a characterisation. POST replaces them as a whole."""
        collection = self.get_object()
        if request.method == "POST":
            try:
                ingest.set_strategies(collection, request.data)
            except ingest.IngestError as exc:
                return _error(exc)
        rows = ScreeningStrategy.objects.filter(collection=collection)
        return Response(StrategySerializer(rows, many=True).data)


# --- processing -----------------------------------------------------------------------------


class ProcessingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        viewsets.GenericViewSet):
    """Processing runs: each made one processed (or merged) dataset from input collections.

    A run's id is the id of its processed dataset.
    """

    queryset = ProcessingRun.objects.none()  # for the schema; see get_queryset
    serializer_class = ProcessingRunSerializer
    lookup_url_kwarg = "id"
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ProcessingRun.objects.none()
        queryset = (ProcessingRun.objects
                    .filter(dataset__in=perms.visible_datasets(self.request.user))
                    .select_related("dataset")
                    .prefetch_related("shells", "messages", "dataset__input_links")
                    .order_by("-dataset__start_time", "-dataset_id"))
        if self.action == "list":
            params = self.request.query_params
            if params.get("session"):
                queryset = queryset.filter(_session_condition(params["session"], "dataset__"))
            collection = _int_param(self.request, "collection")
            if collection is not None:
                queryset = queryset.filter(dataset__input_links__input_id=collection)
            for name in ("pipeline", "status"):
                if params.get(name):
                    queryset = queryset.filter(**{name: params[name]})
        return queryset

    @extend_schema(parameters=[
        SESSION_PARAM, OpenApiParameter("collection", int, description="An input dataset id."),
        OpenApiParameter("pipeline", str), OpenApiParameter("status", str)])
    def list(self, request, *args, **kwargs):
        """Processing runs you may see, newest first, with their shells and messages."""
        return super().list(request, *args, **kwargs)

    @extend_schema(request=OpenApiTypes.OBJECT,
                   responses={201: ProcessingRunSerializer, 200: ProcessingRunSerializer},
                   examples=[OpenApiExample("autoPROC", value=PROCESSING_EXAMPLE)])
    def create(self, request, *args, **kwargs):
        """Record a processing result as structured JSON. With ``run_id`` (the pipeline's own
        id) a repeated call for the same inputs and pipeline updates the run (200) instead of
        adding one (201)."""
        try:
            run, created = ingest.record_processing(request.data, user=request.user)
        except ingest.IngestError as exc:
            return _error(exc)
        run = self.get_queryset().get(pk=run.pk)
        return Response(ProcessingRunSerializer(run).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        request={"multipart/form-data": {
            "type": "object",
            "properties": {
                "collections": {"type": "array", "items": {"type": "integer"}},
                "pipeline": {"type": "string"}, "run_id": {"type": "string"},
                "file": {"type": "array", "items": {"type": "string", "format": "binary"}}},
            "required": ["collections", "file"]}},
        responses={202: OpenApiTypes.OBJECT, 200: OpenApiTypes.OBJECT})
    @action(detail=False, methods=["post"], url_path="files",
            parser_classes=[parsers.MultiPartParser, parsers.FormParser])
    def files(self, request):
        """Upload a pipeline's output files (AutoProcContainer XML, CORRECT.LP, aimless log,
        xia2.txt, fast_dp.json…): they are attached and the ``mx.ingest_processing`` job parses
        them and records the run (202 with the job). The same upload again returns the earlier
        job (200) unless it failed."""
        data = {}
        for key in request.data:
            if key in ("file", "files"):
                continue
            values = request.data.getlist(key) if hasattr(request.data, "getlist") \
                else [request.data[key]]
            if key in ("collections", "collection"):
                refs = [part.strip() for value in values for part in str(value).split(",")
                        if part.strip()]
                data[key] = [int(ref) if ref.isdigit() else ref for ref in refs]
            else:
                data[key] = values[-1]
        files = [*request.FILES.getlist("file"), *request.FILES.getlist("files")]
        try:
            job, created = ingest.queue_processing_files(request.user, data, files)
        except ingest.IngestError as exc:
            return _error(exc)
        return Response({"job": job.pk, "state": job.state, "task": job.task,
                         "attachments": job.parameters.get("attachments", []),
                         "replayed": not created},
                        status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK)
