"""Serializers of the core API. Parameters are read and written as ``{"key": value}``; a value
may carry its unit as ``{"value": 0.98, "unit": "Å"}`` and is converted to the dictionary's unit."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .. import permissions as perms
from ..dictionary import techniques, types_by_key, validate_parameters
from ..jobs import job_tasks, submit
from ..lineage import would_create_cycle
from ..models import (
    Attachment,
    Beamline,
    Datafile,
    Dataset,
    DatasetLink,
    ParameterType,
    ParameterValue,
    Person,
    ProcessingJob,
    Proposal,
    ProposalMember,
    Sample,
    Session,
)
from .fields import VisibleRelatedField


class PersonSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="get_full_name", read_only=True)

    class Meta:
        model = Person
        fields = ["id", "username", "name", "email", "orcid"]


class MemberSerializer(serializers.ModelSerializer):
    person = PersonSerializer(read_only=True)

    class Meta:
        model = ProposalMember
        fields = ["person", "role"]


class ProposalSerializer(serializers.ModelSerializer):
    members = MemberSerializer(many=True, read_only=True)

    class Meta:
        model = Proposal
        fields = ["id", "reference", "code", "number", "title", "pi", "state", "members",
                  "created_at"]

    def validate_code(self, value):
        if not value.isalpha() or not value.islower():
            raise serializers.ValidationError("Use lower-case letters only, e.g. mx.")
        return value


class SessionSerializer(serializers.ModelSerializer):
    proposal = VisibleRelatedField(perms.visible_proposals)
    beamline = serializers.SlugRelatedField(slug_field="name", queryset=Beamline.objects.all())

    class Meta:
        model = Session
        fields = ["id", "reference", "proposal", "number", "beamline", "start", "end", "comments"]

    def validate(self, attrs):
        start = attrs.get("start", getattr(self.instance, "start", None))
        end = attrs.get("end", getattr(self.instance, "end", None))
        if start and end and end <= start:
            raise serializers.ValidationError({"end": "The session must end after it starts."})
        return attrs


class SampleSerializer(serializers.ModelSerializer):
    proposal = VisibleRelatedField(perms.member_proposals)
    parent = VisibleRelatedField(perms.visible_samples, required=False, allow_null=True)

    class Meta:
        model = Sample
        fields = ["id", "proposal", "name", "component", "parent", "comments", "properties",
                  "created_at"]
        validators = []  # the name clash is reported on "name" in validate()

    def validate(self, attrs):
        proposal = attrs.get("proposal", getattr(self.instance, "proposal", None))
        parent = attrs.get("parent")
        name = attrs.get("name", getattr(self.instance, "name", None))
        component = attrs.get("component", getattr(self.instance, "component", ""))
        clash = Sample.objects.filter(proposal=proposal, component=component, name=name)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            where = f" of {component}" if component else ""
            raise serializers.ValidationError(
                {"name": f"{proposal.reference} already has a sample '{name}'{where}."}
            )
        if parent is not None and parent.proposal_id != proposal.pk:
            raise serializers.ValidationError(
                {"parent": "The parent sample belongs to another proposal."}
            )
        if self.instance is not None and parent is not None:
            node = parent
            while node is not None:
                if node.pk == self.instance.pk:
                    raise serializers.ValidationError(
                        {"parent": "A sample cannot be its own ancestor."}
                    )
                node = node.parent
        return attrs


class DatafileSerializer(serializers.ModelSerializer):
    dataset = VisibleRelatedField(perms.visible_datasets)

    class Meta:
        model = Datafile
        fields = ["id", "dataset", "path", "size", "checksum", "format"]


class NestedDatafileSerializer(serializers.ModelSerializer):
    class Meta:
        model = Datafile
        fields = ["path", "size", "checksum", "format"]


@extend_schema_field({"type": "object", "additionalProperties": True,
                     "example": {"wavelength": 0.9763, "exposure_time": {"value": 10,
                                                                         "unit": "ms"}}})
class ParametersField(serializers.Field):
    """``{"key": value}`` out; ``{"key": value | {"value", "unit"}}`` in (validated later)."""

    def to_representation(self, values):
        return {pv.type.key: pv.value for pv in values.all()}

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError("Expected an object of key: value.")
        return data


def check_parameters(values: dict):
    """Validate a parameters mapping; on error a 400 listing each bad key."""
    try:
        return validate_parameters(values, types_by_key(values))
    except DjangoValidationError as exc:
        raise serializers.ValidationError({"parameters": exc.message_dict}) from None


def check_technique(value: str) -> str:
    known = techniques()
    if value not in known:
        raise serializers.ValidationError(
            f"Unknown technique '{value}'. Enabled: {', '.join(sorted(known)) or 'none'}."
        )
    return value


class DatasetSerializer(serializers.ModelSerializer):
    session = VisibleRelatedField(perms.visible_sessions)
    sample = VisibleRelatedField(perms.visible_samples, required=False, allow_null=True)
    parameters = ParametersField(required=False)
    files = NestedDatafileSerializer(many=True, required=False)

    class Meta:
        model = Dataset
        fields = ["id", "session", "sample", "technique", "kind", "name", "location",
                  "start_time", "end_time", "state", "comments", "parameters", "files",
                  "created_at", "updated_at"]
        validators = []  # the name clash is reported on "name" in validate()

    def validate_technique(self, value):
        return check_technique(value)

    def validate(self, attrs):
        session = attrs.get("session", getattr(self.instance, "session", None))
        sample = attrs.get("sample")
        if sample is not None and sample.proposal_id != session.proposal_id:
            raise serializers.ValidationError(
                {"sample": "The sample belongs to another proposal than the session."}
            )
        start = attrs.get("start_time", getattr(self.instance, "start_time", None))
        end = attrs.get("end_time", getattr(self.instance, "end_time", None))
        if start and end and end < start:
            raise serializers.ValidationError({"end_time": "end_time is before start_time."})
        name = attrs.get("name", getattr(self.instance, "name", None))
        clash = Dataset.objects.filter(session=session, name=name)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError(
                {"name": f"Session {session.reference} already has a dataset named '{name}'."}
            )
        if "parameters" in attrs:
            attrs["parameters"] = check_parameters(attrs["parameters"])
        return attrs

    @transaction.atomic
    def create(self, validated_data):
        rows = validated_data.pop("parameters", [])
        files = validated_data.pop("files", [])
        dataset = Dataset.objects.create(**validated_data)
        ParameterValue.objects.bulk_create(
            ParameterValue(dataset=dataset, type=ptype, **columns) for ptype, columns in rows
        )
        Datafile.objects.bulk_create(Datafile(dataset=dataset, **f) for f in files)
        return dataset

    @transaction.atomic
    def update(self, instance, validated_data):
        rows = validated_data.pop("parameters", [])
        files = validated_data.pop("files", None)
        instance = super().update(instance, validated_data)
        for ptype, columns in rows:
            ParameterValue.objects.update_or_create(dataset=instance, type=ptype,
                                                    defaults=columns)
        if files is not None:
            for f in files:
                Datafile.objects.update_or_create(dataset=instance, path=f["path"], defaults=f)
        return instance


class DatasetLinkSerializer(serializers.ModelSerializer):
    output = VisibleRelatedField(perms.visible_datasets)
    input = VisibleRelatedField(perms.visible_datasets)
    job = VisibleRelatedField(perms.visible_jobs, required=False, allow_null=True)

    class Meta:
        model = DatasetLink
        fields = ["id", "output", "input", "role", "job", "software"]

    def validate(self, attrs):
        if attrs["output"] == attrs["input"]:
            raise serializers.ValidationError({"input": "A dataset cannot be its own input."})
        if would_create_cycle(attrs["output"], attrs["input"]):
            raise serializers.ValidationError(
                {"input": "This link would make the lineage a cycle."}
            )
        if DatasetLink.objects.filter(output=attrs["output"], input=attrs["input"]).exists():
            raise serializers.ValidationError({"input": "These datasets are already linked."})
        return attrs


class ParameterTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = ParameterType
        fields = ["key", "label", "unit", "value_kind", "minimum", "maximum", "choices",
                  "mmcif_item", "searchable", "technique", "description"]


class ProcessingJobSerializer(serializers.ModelSerializer):
    session = VisibleRelatedField(perms.visible_sessions)
    inputs = VisibleRelatedField(perms.visible_datasets, many=True, required=False)

    class Meta:
        model = ProcessingJob
        fields = ["id", "uuid", "session", "task", "parameters", "inputs", "state", "progress",
                  "log", "result", "error", "attempts", "created_by", "created_at",
                  "started_at", "finished_at"]
        read_only_fields = ["state", "progress", "log", "result", "error", "attempts",
                            "created_by", "started_at", "finished_at"]

    def validate_task(self, value):
        known = job_tasks()
        if value not in known:
            raise serializers.ValidationError(
                f"Unknown task '{value}'. Available: {', '.join(sorted(known))}."
            )
        return value

    def validate(self, attrs):
        session = attrs["session"]
        foreign = [d.pk for d in attrs.get("inputs", []) if d.session.proposal_id
                   != session.proposal_id]
        if foreign:
            raise serializers.ValidationError(
                {"inputs": f"Datasets {foreign} belong to another proposal than the session."}
            )
        if not isinstance(attrs.get("parameters", {}), dict):
            raise serializers.ValidationError({"parameters": "Expected an object."})
        return attrs

    @transaction.atomic
    def create(self, validated_data):
        validated_data["created_by"] = self.context["request"].user
        job = super().create(validated_data)
        return submit(job)


class AttachmentSerializer(serializers.ModelSerializer):
    dataset = VisibleRelatedField(perms.visible_datasets, required=False, allow_null=True)
    job = VisibleRelatedField(perms.visible_jobs, required=False, allow_null=True)

    class Meta:
        model = Attachment
        fields = ["id", "session", "dataset", "job", "kind", "name", "file", "created_at"]
        read_only_fields = ["session"]
        extra_kwargs = {"name": {"required": False}}

    def validate(self, attrs):
        owner = attrs.get("dataset") or attrs.get("job")
        if owner is None:
            raise serializers.ValidationError({"dataset": "Give a dataset or a job."})
        if attrs.get("dataset") and attrs.get("job") and \
                attrs["dataset"].session_id != attrs["job"].session_id:
            raise serializers.ValidationError({"job": "The job is of another session."})
        attrs["session"] = owner.session
        if not attrs.get("name"):
            attrs["name"] = attrs["file"].name
        return attrs


