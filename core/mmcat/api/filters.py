import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError

from ..models import Dataset, ProcessingJob, Sample, Session
from ..search import filter_by_parameters
from .errors import as_drf_error


class SessionFilter(django_filters.FilterSet):
    proposal = django_filters.NumberFilter()
    beamline = django_filters.CharFilter(field_name="beamline__name")
    start_after = django_filters.IsoDateTimeFilter(field_name="start", lookup_expr="gte")
    start_before = django_filters.IsoDateTimeFilter(field_name="start", lookup_expr="lt")

    class Meta:
        model = Session
        fields = ["proposal", "beamline", "number"]


class SampleFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Sample
        fields = ["proposal", "parent", "component", "name"]


class DatasetFilter(django_filters.FilterSet):
    proposal = django_filters.NumberFilter(field_name="session__proposal")
    name = django_filters.CharFilter(lookup_expr="icontains")
    started_after = django_filters.IsoDateTimeFilter(field_name="start_time", lookup_expr="gte")
    started_before = django_filters.IsoDateTimeFilter(field_name="start_time", lookup_expr="lt")
    param = django_filters.CharFilter(
        method="filter_param",
        help_text="Repeatable parameter condition key__op:value[unit], e.g. "
        "resolution_high__lte:1.5 or wavelength__gt:0.09nm; op is exact (default), lt, lte, "
        "gt, gte, ne or contains.",
    )

    class Meta:
        model = Dataset
        fields = ["session", "sample", "technique", "kind", "state", "name"]

    def filter_param(self, queryset, name, value):
        expressions = self.request.query_params.getlist("param") if self.request else [value]
        try:
            return filter_by_parameters(queryset, expressions)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from None


class JobFilter(django_filters.FilterSet):
    class Meta:
        model = ProcessingJob
        fields = ["session", "state", "task"]
