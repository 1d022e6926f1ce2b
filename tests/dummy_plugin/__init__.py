"""A plugin that implements every hook, so the core's tests exercise the whole contract.

It is also the smallest complete example for plugin authors (see docs/plugin-guide.md).
"""

__version__ = "1.0"
