"""The MX entries of the data dictionary, with ISPyB's units and the mmCIF item where one exists.

Acquisition parameters come from the ISPyB DataCollection table; processing results from
AutoProc / AutoProcScalingStatistics (overall shell; inner and outer shells are kept with the
processing result).
"""

from mmcat.plugins.types import ParameterSpec as P

ACQUISITION = [
    P("wavelength", "Wavelength", unit="Å", minimum=0.1, maximum=5.0,
      mmcif_item="_diffrn_radiation_wavelength.wavelength"),
    P("exposure_time", "Exposure time per image", unit="s", minimum=0, maximum=3600,
      mmcif_item="_diffrn_scan.integration_time"),
    P("oscillation_start", "Oscillation start", unit="°", minimum=-3600, maximum=3600,
      mmcif_item="_diffrn_scan_axis.angle_start"),
    P("oscillation_range", "Oscillation range per image", unit="°", minimum=0, maximum=360,
      mmcif_item="_diffrn_scan_axis.angle_increment"),
    P("number_of_images", "Number of images", value_kind="integer", minimum=1,
      mmcif_item="_diffrn_scan.frames"),
    P("detector_distance", "Detector distance", unit="mm", minimum=0, maximum=5000,
      mmcif_item="_diffrn_measurement.sample_detector_distance"),
    P("transmission", "Transmission", unit="%", minimum=0, maximum=100),
    P("flux", "Flux", unit="ph/s", minimum=0),
    P("beam_size_x", "Beam size (horizontal)", unit="µm", minimum=0, maximum=10000),
    P("beam_size_y", "Beam size (vertical)", unit="µm", minimum=0, maximum=10000),
    P("resolution", "Resolution at detector edge", unit="Å", minimum=0, maximum=100),
    P("detector", "Detector", value_kind="text", mmcif_item="_diffrn_detector.detector"),
    P("experiment_type", "Experiment type", value_kind="enum",
      choices=["characterisation", "screening", "rotation", "SAD", "MAD", "helical", "mesh",
               "multi-sweep", "serial"]),
]

PROCESSING = [
    P("program", "Processing program", value_kind="text", mmcif_item="_software.name"),
    P("space_group", "Space group", value_kind="text",
      mmcif_item="_symmetry.space_group_name_H-M",
      description="Hermann–Mauguin symbol without spaces, e.g. P212121."),
    *[P(f"cell_{axis}", f"Cell {axis}", unit="Å", minimum=0, maximum=5000,
        mmcif_item=f"_cell.length_{axis}") for axis in "abc"],
    *[P(f"cell_{angle}", f"Cell {angle}", unit="°", minimum=0, maximum=180,
        mmcif_item=f"_cell.angle_{angle}") for angle in ("alpha", "beta", "gamma")],
    P("resolution_low", "Low resolution limit", unit="Å", minimum=0,
      mmcif_item="_reflns.d_resolution_low"),
    P("resolution_high", "High resolution limit", unit="Å", minimum=0,
      mmcif_item="_reflns.d_resolution_high"),
    P("completeness", "Completeness", unit="%", minimum=0, maximum=100,
      mmcif_item="_reflns.percent_possible_obs"),
    P("multiplicity", "Multiplicity", minimum=0, mmcif_item="_reflns.pdbx_redundancy"),
    P("i_over_sigma", "Mean I/σ(I)", mmcif_item="_reflns.pdbx_netI_over_sigmaI"),
    P("r_merge", "Rmerge", minimum=0, mmcif_item="_reflns.pdbx_Rmerge_I_obs"),
    P("r_meas", "Rmeas", minimum=0, mmcif_item="_reflns.pdbx_Rrim_I_all"),
    P("r_pim", "Rpim", minimum=0, mmcif_item="_reflns.pdbx_Rpim_I_all"),
    P("cc_half", "CC½", minimum=-1, maximum=1, mmcif_item="_reflns.pdbx_CC_half"),
    P("cc_anomalous", "CC anomalous", minimum=-1, maximum=1),
    P("anomalous_completeness", "Anomalous completeness", unit="%", minimum=0, maximum=100),
    P("anomalous_multiplicity", "Anomalous multiplicity", minimum=0),
    P("n_observations", "Observations", value_kind="integer", minimum=0),
    P("n_unique", "Unique reflections", value_kind="integer", minimum=0,
      mmcif_item="_reflns.number_obs"),
]

PARAMETERS = ACQUISITION + PROCESSING
