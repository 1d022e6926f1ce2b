from mmcat.plugins.config import PluginConfig


class MxConfig(PluginConfig):
    name = "mmcat_mx"
    label = "mx"
    verbose_name = "Macromolecular crystallography"
    requires_core = ">=0.1,<1"
    distribution = "mmcat-mx"
