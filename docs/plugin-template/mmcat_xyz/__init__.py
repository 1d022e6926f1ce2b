"""mmCAT plugin for the XYZ technique: three parameter types, a parser for XYZ-SCAN files, a
per-dataset detail table, a session panel, an API route and a processing task.

XYZ is made up. This package is the template that docs/plugin-guide.md walks through: copy it,
rename ``xyz`` to your slug, and replace the technique.
"""

__version__ = "0.1.0"
