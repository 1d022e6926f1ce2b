"""MX detail of the core tables, in ISPyB's vocabulary.

Every MX table points at a core table (one-to-one to Dataset or Sample, foreign keys to Session
or Proposal); the core never points back. Acquisition parameters (wavelength, exposure, …) stay
typed core parameters of the collection's Dataset; these tables hold what is MX-specific:
proteins and crystals, collection groups and their image series, per-image quality, grid scans,
screening strategies, and processing runs with their statistics per resolution shell.
"""

from django.db import models


class Protein(models.Model):
    """A macromolecule of a proposal (ISPyB Protein); its acronym is unique in the proposal."""

    proposal = models.ForeignKey("core.Proposal", on_delete=models.CASCADE,
                                 related_name="mx_proteins")
    acronym = models.CharField(max_length=45)
    name = models.CharField(max_length=255, blank=True)
    sequence = models.TextField(blank=True, help_text="One-letter amino-acid sequence.")
    molecular_mass = models.FloatField(null=True, blank=True, help_text="Da.")

    class Meta:
        ordering = ["acronym"]
        constraints = [
            models.UniqueConstraint(fields=["proposal", "acronym"], name="mx_protein_acronym"),
        ]

    def __str__(self):
        return self.acronym


class UnitCell(models.Model):
    """A unit cell: lengths in Å, angles in degrees."""

    cell_a = models.FloatField(null=True, blank=True)
    cell_b = models.FloatField(null=True, blank=True)
    cell_c = models.FloatField(null=True, blank=True)
    cell_alpha = models.FloatField(null=True, blank=True)
    cell_beta = models.FloatField(null=True, blank=True)
    cell_gamma = models.FloatField(null=True, blank=True)

    class Meta:
        abstract = True


class Crystal(UnitCell):
    """MX detail of a core sample: a crystal of a protein, with its expected symmetry."""

    sample = models.OneToOneField("core.Sample", on_delete=models.CASCADE, primary_key=True,
                                  related_name="mx_crystal")
    protein = models.ForeignKey(Protein, on_delete=models.PROTECT, related_name="crystals")
    space_group = models.CharField(max_length=20, blank=True)

    def __str__(self):
        return f"{self.protein}-{self.sample.name}"


class DataCollectionGroup(models.Model):
    """Collections made together on one sample (ISPyB DataCollectionGroup): the sweeps of a
    multi-sweep experiment, a characterisation and the collection that follows it, a grid scan."""

    class ExperimentType(models.TextChoices):
        CHARACTERISATION = "characterisation", "Characterisation"
        SCREENING = "screening", "Screening"
        ROTATION = "rotation", "Standard rotation"
        SAD = "SAD", "SAD"
        MAD = "MAD", "MAD"
        HELICAL = "helical", "Helical"
        MESH = "mesh", "Mesh / grid scan"
        MULTI_SWEEP = "multi-sweep", "Multi-sweep (kappa)"

    session = models.ForeignKey("core.Session", on_delete=models.CASCADE,
                                related_name="mx_groups")
    sample = models.ForeignKey("core.Sample", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="mx_groups")
    experiment_type = models.CharField(max_length=20, choices=ExperimentType.choices,
                                       default=ExperimentType.ROTATION)
    start_time = models.DateTimeField(null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)
    comments = models.TextField(blank=True)

    class Meta:
        ordering = ["-start_time", "-id"]

    def __str__(self):
        return f"{self.get_experiment_type_display()} group {self.pk}"


class DataCollection(models.Model):
    """MX detail of a raw core Dataset: one series of images (ISPyB DataCollection)."""

    dataset = models.OneToOneField("core.Dataset", on_delete=models.CASCADE, primary_key=True,
                                   related_name="mx_collection")
    group = models.ForeignKey(DataCollectionGroup, on_delete=models.CASCADE,
                              related_name="collections")
    image_directory = models.CharField(max_length=1024, blank=True)
    image_template = models.CharField(max_length=255, blank=True,
                                      help_text="e.g. x828_1_####.cbf or x828_1_master.h5")
    first_image = models.PositiveIntegerField(default=1)
    number_of_images = models.PositiveIntegerField(null=True, blank=True)
    axis = models.CharField(max_length=20, blank=True, default="omega")
    beam_x = models.FloatField(null=True, blank=True, help_text="Beam centre, mm.")
    beam_y = models.FloatField(null=True, blank=True, help_text="Beam centre, mm.")
    snapshots = models.JSONField(default=list, blank=True,
                                 help_text="Paths of the crystal snapshots, in order.")

    class Meta:
        ordering = ["-dataset__start_time", "-dataset_id"]

    def __str__(self):
        return self.dataset.name


class ImageQuality(models.Model):
    """Per-image quality indicators from the beamline's spot finder (ISPyB ImageQualityIndicators).
    For a grid scan, image N is cell N of the grid (row by row)."""

    collection = models.ForeignKey(DataCollection, on_delete=models.CASCADE,
                                   related_name="image_quality")
    image_number = models.PositiveIntegerField()
    spots = models.PositiveIntegerField(null=True, blank=True)
    bragg_candidates = models.PositiveIntegerField(null=True, blank=True)
    resolution_estimate = models.FloatField(null=True, blank=True, help_text="Å")
    total_intensity = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["image_number"]
        constraints = [
            models.UniqueConstraint(fields=["collection", "image_number"],
                                    name="mx_one_quality_per_image"),
        ]

    def __str__(self):
        return f"{self.collection_id} #{self.image_number}"


class GridInfo(models.Model):
    """Geometry of a grid scan (ISPyB GridInfo): steps in x and y and their size."""

    collection = models.OneToOneField(DataCollection, on_delete=models.CASCADE,
                                      primary_key=True, related_name="grid")
    steps_x = models.PositiveIntegerField()
    steps_y = models.PositiveIntegerField()
    dx = models.FloatField(help_text="Step in x, µm.")
    dy = models.FloatField(help_text="Step in y, µm.")
    snaked = models.BooleanField(default=True, help_text="Every other row scanned backwards.")
    orientation = models.CharField(max_length=10, default="horizontal")

    def __str__(self):
        return f"{self.steps_x} × {self.steps_y} grid"


class ScreeningStrategy(models.Model):
    """A strategy proposed from a characterisation (ISPyB Screening + ScreeningStrategy)."""

    collection = models.ForeignKey(DataCollection, on_delete=models.CASCADE,
                                   related_name="strategies")
    program = models.CharField(max_length=60, help_text="e.g. EDNA, BEST, MOSFLM.")
    rank = models.PositiveSmallIntegerField(default=1)
    space_group = models.CharField(max_length=20, blank=True)
    axis_start = models.FloatField(null=True, blank=True, help_text="°")
    axis_end = models.FloatField(null=True, blank=True, help_text="°")
    oscillation_range = models.FloatField(null=True, blank=True, help_text="°")
    exposure_time = models.FloatField(null=True, blank=True, help_text="s")
    transmission = models.FloatField(null=True, blank=True, help_text="%")
    resolution = models.FloatField(null=True, blank=True, help_text="Å")
    completeness = models.FloatField(null=True, blank=True, help_text="%")
    multiplicity = models.FloatField(null=True, blank=True)
    number_of_images = models.PositiveIntegerField(null=True, blank=True)
    comments = models.TextField(blank=True)

    class Meta:
        ordering = ["collection", "rank"]

    def __str__(self):
        return f"{self.program} strategy {self.rank}"


class ProcessingRun(UnitCell):
    """One run of a processing pipeline (ISPyB AutoProcProgram + AutoProc): it made the processed
    (or merged) core Dataset it is attached to; its inputs are that dataset's lineage links."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCESS = "success", "Success"
        FAILED = "failed", "Failed"

    dataset = models.OneToOneField("core.Dataset", on_delete=models.CASCADE, primary_key=True,
                                   related_name="mx_processing")
    pipeline = models.CharField(max_length=60, help_text="e.g. xia2 3dii, autoPROC, fast_dp.")
    program = models.CharField(max_length=255, blank=True,
                               help_text="Programs and versions, as the pipeline reports them.")
    version = models.CharField(max_length=60, blank=True)
    command_line = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    start_time = models.DateTimeField(null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)
    space_group = models.CharField(max_length=20, blank=True)
    anomalous = models.BooleanField(default=False)
    job = models.ForeignKey("core.ProcessingJob", null=True, blank=True,
                            on_delete=models.SET_NULL, related_name="mx_runs")

    class Meta:
        ordering = ["pipeline", "dataset_id"]

    def __str__(self):
        return f"{self.pipeline} ({self.get_status_display()})"


class ShellStatistics(models.Model):
    """Scaling statistics of one resolution shell of a run (ISPyB AutoProcScalingStatistics).
    R values and CC are fractions (0.048, 0.999); completeness is in percent."""

    class Shell(models.TextChoices):
        OVERALL = "overall", "Overall"
        INNER = "inner", "Inner shell"
        OUTER = "outer", "Outer shell"

    run = models.ForeignKey(ProcessingRun, on_delete=models.CASCADE, related_name="shells")
    shell = models.CharField(max_length=10, choices=Shell.choices)
    resolution_low = models.FloatField(null=True, blank=True, help_text="Å")
    resolution_high = models.FloatField(null=True, blank=True, help_text="Å")
    n_observations = models.PositiveIntegerField(null=True, blank=True)
    n_unique = models.PositiveIntegerField(null=True, blank=True)
    r_merge = models.FloatField(null=True, blank=True)
    r_meas = models.FloatField(null=True, blank=True)
    r_pim = models.FloatField(null=True, blank=True)
    i_over_sigma = models.FloatField(null=True, blank=True)
    cc_half = models.FloatField(null=True, blank=True)
    cc_anomalous = models.FloatField(null=True, blank=True)
    completeness = models.FloatField(null=True, blank=True, help_text="%")
    multiplicity = models.FloatField(null=True, blank=True)
    anomalous_completeness = models.FloatField(null=True, blank=True, help_text="%")
    anomalous_multiplicity = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["run", "shell"]
        constraints = [
            models.UniqueConstraint(fields=["run", "shell"], name="mx_one_row_per_shell"),
        ]

    def __str__(self):
        return f"{self.run_id} {self.shell}"


class ProcessingMessage(models.Model):
    """A message of a processing run (ISPyB AutoProcProgramMessage)."""

    class Severity(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        ERROR = "error", "Error"

    run = models.ForeignKey(ProcessingRun, on_delete=models.CASCADE, related_name="messages")
    severity = models.CharField(max_length=10, choices=Severity.choices,
                                default=Severity.INFO)
    text = models.TextField()

    class Meta:
        ordering = ["run", "id"]

    def __str__(self):
        return f"{self.severity}: {self.text[:40]}"
