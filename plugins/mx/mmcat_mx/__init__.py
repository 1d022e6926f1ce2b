"""mmCAT plugin for macromolecular crystallography: acquisition and processing parameters,
parsers of auto-processing output, and the task that ingests it."""

__version__ = "0.1.0"
