from pathlib import Path

from django.urls import reverse
from rest_framework import serializers, viewsets

from mmcat import permissions
from mmcat.plugins.markers import hookimpl
from mmcat.plugins.types import (
    MenuItem,
    Panel,
    ParameterSpec,
    ParseError,
    Parser,
    PeriodicTask,
    TechniqueSpec,
)

from .models import Event, Note


@hookimpl
def mmcat_techniques():
    return [TechniqueSpec(slug="dummy", label="Dummy", parameters=[
        ParameterSpec("dummy_length", "Length", unit="Å", minimum=0, maximum=1000,
                      mmcif_item="_dummy.length"),
        ParameterSpec("dummy_count", "Count", value_kind="integer", minimum=0),
        ParameterSpec("dummy_label", "Label", value_kind="text"),
        ParameterSpec("dummy_colour", "Colour", value_kind="enum", choices=["red", "green"]),
        ParameterSpec("dummy_when", "When", value_kind="datetime"),
        ParameterSpec("dummy_vector", "Vector", value_kind="vector", unit="mm",
                      searchable=False),
    ])]


def _detect(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(9) == b"DUMMY v1\n"


def _parse(path: Path) -> dict:
    lines = path.read_text().splitlines()
    if not lines or lines[0] != "DUMMY v1":
        raise ParseError(f"{path.name}: not a DUMMY v1 file")
    result = {}
    for number, line in enumerate(lines[1:], start=2):
        key, sep, value = line.partition("=")
        if not sep:
            raise ParseError(f"{path.name}, line {number}: expected key=value")
        result[key.strip()] = value.strip()
    return result


@hookimpl
def mmcat_ingest_parsers():
    return [Parser(name="dummy", label="Dummy key=value file", detect=_detect, parse=_parse,
                   technique="dummy", file_kinds=(".dummy",))]


@hookimpl
def mmcat_periodic_tasks():
    return [PeriodicTask(name="dummy-heartbeat", task="dummy.heartbeat", seconds=3600)]


class NoteSerializer(serializers.ModelSerializer):
    dataset = serializers.PrimaryKeyRelatedField(queryset=Note.objects.none())

    class Meta:
        model = Note
        fields = ["id", "dataset", "text"]

    def get_fields(self):
        fields = super().get_fields()
        fields["dataset"].queryset = permissions.visible_datasets(self.context["request"].user)
        return fields


class NoteViewSet(viewsets.ModelViewSet):
    serializer_class = NoteSerializer

    def get_queryset(self):
        return Note.objects.filter(
            dataset__in=permissions.visible_datasets(self.request.user)
        )


@hookimpl
def mmcat_api_routes(router):
    router.register("dummy/notes", NoteViewSet, basename="dummy-note")


@hookimpl
def mmcat_menu_items(request):
    return [MenuItem("Dummy", reverse("dummy:index"), order=50)]


@hookimpl
def mmcat_dashboard_widgets(request):
    return [Panel("Dummy widget", reverse("dummy:widget"))]


@hookimpl
def mmcat_proposal_panels(proposal, request):
    return [Panel("Dummy proposal panel", reverse("dummy:proposal-panel", args=[proposal.pk]))]


@hookimpl
def mmcat_session_panels(session, request):
    return [Panel("Dummy session panel", reverse("dummy:session-panel", args=[session.pk]))]


@hookimpl
def mmcat_dataset_panels(dataset, request):
    return [Panel("Dummy dataset panel", reverse("dummy:dataset-panel", args=[dataset.pk]))]


@hookimpl
def mmcat_sample_panels(sample, request):
    return [Panel("Dummy sample panel", reverse("dummy:sample-panel", args=[sample.pk]))]


@hookimpl
def mmcat_demo_data(demo):
    from mmcat.models import Dataset

    Dataset.objects.create(session=demo.sessions["live"], technique="dummy", name="dummy demo")


@hookimpl
def mmcat_dataset_created(dataset):
    Event.objects.create(kind="dataset_created", object_id=dataset.pk)


@hookimpl
def mmcat_job_finished(job):
    Event.objects.create(kind=f"job_{job.state}", object_id=job.pk)
