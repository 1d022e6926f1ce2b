from mmcat.plugins.config import PluginConfig


class DummyConfig(PluginConfig):
    name = "tests.dummy_plugin"
    label = "dummy"
    verbose_name = "Dummy technique (tests)"
    requires_core = ">=0.0"
    default_settings = {"greeting": "hello"}
    distribution = "mmcat-dummy-not-installed"
