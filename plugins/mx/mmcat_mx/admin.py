"""The Django admin for the MX tables (facility staff). Rows written by the beamline and the
pipelines are normally created through ``/api/v1/mx/``; the admin is for looking and fixing."""

from django.contrib import admin

from . import models


@admin.register(models.Protein)
class ProteinAdmin(admin.ModelAdmin):
    list_display = ["acronym", "name", "proposal", "molecular_mass"]
    search_fields = ["acronym", "name"]
    list_select_related = ["proposal"]
    raw_id_fields = ["proposal"]


@admin.register(models.Crystal)
class CrystalAdmin(admin.ModelAdmin):
    list_display = ["sample", "protein", "space_group"]
    search_fields = ["sample__name", "protein__acronym"]
    list_select_related = ["sample", "protein"]
    raw_id_fields = ["sample", "protein"]


class CollectionInline(admin.TabularInline):
    model = models.DataCollection
    fields = ["dataset", "image_template", "number_of_images", "axis"]
    raw_id_fields = ["dataset"]
    extra = 0
    show_change_link = True


@admin.register(models.DataCollectionGroup)
class DataCollectionGroupAdmin(admin.ModelAdmin):
    list_display = ["id", "experiment_type", "session", "sample", "start_time", "end_time"]
    list_filter = ["experiment_type"]
    list_select_related = ["session__proposal", "sample"]
    raw_id_fields = ["session", "sample"]
    inlines = [CollectionInline]


class GridInline(admin.StackedInline):
    model = models.GridInfo
    extra = 0


class StrategyInline(admin.TabularInline):
    model = models.ScreeningStrategy
    extra = 0


@admin.register(models.DataCollection)
class DataCollectionAdmin(admin.ModelAdmin):
    list_display = ["dataset", "group", "image_template", "number_of_images", "axis"]
    list_filter = ["group__experiment_type"]
    search_fields = ["dataset__name", "image_directory", "image_template"]
    list_select_related = ["dataset", "group"]
    raw_id_fields = ["dataset", "group"]
    inlines = [GridInline, StrategyInline]


@admin.register(models.ImageQuality)
class ImageQualityAdmin(admin.ModelAdmin):
    list_display = ["collection", "image_number", "spots", "bragg_candidates",
                    "resolution_estimate", "total_intensity"]
    search_fields = ["collection__dataset__name"]
    list_select_related = ["collection__dataset"]
    raw_id_fields = ["collection"]


class ShellInline(admin.TabularInline):
    model = models.ShellStatistics
    extra = 0


class MessageInline(admin.TabularInline):
    model = models.ProcessingMessage
    extra = 0


@admin.register(models.ProcessingRun)
class ProcessingRunAdmin(admin.ModelAdmin):
    list_display = ["dataset", "pipeline", "status", "space_group", "start_time", "end_time"]
    list_filter = ["status", "pipeline", "anomalous"]
    search_fields = ["dataset__name", "pipeline", "program"]
    list_select_related = ["dataset"]
    raw_id_fields = ["dataset", "job"]
    inlines = [ShellInline, MessageInline]
