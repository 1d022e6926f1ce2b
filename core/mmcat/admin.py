"""The Django admin for facility staff. Parameter values are edited as a value (and optional
unit) that goes through the same validation as the API."""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import ValidationError

from . import models
from .dictionary import coerce


class ParameterValueForm(forms.ModelForm):
    raw_value = forms.CharField(label="Value", help_text="Numbers, text, or [1, 2, 3].")
    unit = forms.CharField(required=False, help_text="Leave empty for the dictionary's unit.")

    class Meta:
        model = models.ParameterValue
        fields = ["type"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["raw_value"].initial = self.instance.value

    def clean(self):
        cleaned = super().clean()
        ptype, raw = cleaned.get("type"), cleaned.get("raw_value")
        if ptype is None or raw is None:
            return cleaned
        if ptype.value_kind == models.ParameterType.Kind.VECTOR:
            try:
                raw = [float(x) for x in raw.strip("[] ").split(",")]
            except ValueError:
                raise ValidationError(
                    {"raw_value": "Expected numbers separated by commas."}
                ) from None
        value = {"value": raw, "unit": cleaned.get("unit") or None}
        try:
            self.columns = coerce(ptype, value)
        except ValidationError as exc:
            raise ValidationError({"raw_value": exc.messages}) from None
        return cleaned

    def save(self, commit=True):
        for column, value in self.columns.items():
            setattr(self.instance, column, value)
        return super().save(commit)


class ParameterValueInline(admin.TabularInline):
    model = models.ParameterValue
    form = ParameterValueForm
    extra = 0
    autocomplete_fields = ["type"]


class DatafileInline(admin.TabularInline):
    model = models.Datafile
    extra = 0


class InputLinkInline(admin.TabularInline):
    model = models.DatasetLink
    fk_name = "output"
    extra = 0
    raw_id_fields = ["input", "job"]
    verbose_name = "input (lineage)"


@admin.register(models.Person)
class PersonAdmin(UserAdmin):
    fieldsets = UserAdmin.fieldsets + (
        ("mmCAT", {"fields": ("role", "orcid", "external_id", "is_service")}),
    )
    list_display = ["username", "first_name", "last_name", "email", "role", "is_service"]
    list_filter = ["role", "is_service", "is_active"]


@admin.register(models.Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "session", "technique", "kind", "state", "start_time"]
    list_filter = ["technique", "kind", "state"]
    search_fields = ["name", "session__proposal__title"]
    raw_id_fields = ["session", "sample"]
    inlines = [ParameterValueInline, DatafileInline, InputLinkInline]
    list_select_related = ["session__proposal"]


@admin.register(models.ParameterType)
class ParameterTypeAdmin(admin.ModelAdmin):
    list_display = ["key", "label", "unit", "value_kind", "technique", "mmcif_item", "searchable"]
    list_filter = ["technique", "value_kind", "searchable"]
    search_fields = ["key", "label", "mmcif_item"]


class MemberInline(admin.TabularInline):
    model = models.ProposalMember
    extra = 0
    raw_id_fields = ["person"]


@admin.register(models.Proposal)
class ProposalAdmin(admin.ModelAdmin):
    list_display = ["reference", "title", "pi", "state"]
    search_fields = ["code", "title"]
    list_filter = ["state", "code"]
    inlines = [MemberInline]
    raw_id_fields = ["pi"]


@admin.register(models.Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ["reference", "beamline", "start", "end"]
    list_filter = ["beamline"]
    list_select_related = ["proposal", "beamline"]
    raw_id_fields = ["proposal", "local_contacts"]


@admin.register(models.ProcessingJob)
class ProcessingJobAdmin(admin.ModelAdmin):
    list_display = ["task", "session", "state", "progress", "created_at", "finished_at"]
    list_filter = ["state", "task"]
    raw_id_fields = ["session", "inputs", "created_by"]


@admin.register(models.ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "person", "prefix", "created_at", "expires_at", "revoked_at"]
    raw_id_fields = ["person"]


for model in (models.Facility, models.Beamline, models.Sample, models.Attachment,
              models.SessionMember, models.IngestRequest):
    admin.site.register(model)
