from mmcat.plugins.config import PluginConfig


class XyzConfig(PluginConfig):
    name = "mmcat_xyz"  # the import package (the entry point's value)
    label = "xyz"  # the slug: entry-point name, app label, URL prefix /xyz/, API prefix xyz/
    verbose_name = "XYZ scans"
    requires_core = ">=0.1,<1"  # same range as pyproject.toml; checked at start-up (mmcat.E001)
    distribution = "mmcat-xyz"  # where the plugin's version is read from
    # Overridden per site with MMCAT_PLUGIN_SETTINGS='{"xyz": {"panel_limit": 50}}'.
    default_settings = {"panel_limit": 20}
    # Keys a site must set (system check mmcat.E003 otherwise); this template needs none.
    required_settings = ()
