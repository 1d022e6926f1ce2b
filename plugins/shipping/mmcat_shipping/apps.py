from mmcat.plugins.config import PluginConfig


class ShippingConfig(PluginConfig):
    name = "mmcat_shipping"
    label = "shipping"
    verbose_name = "Shipping"
    requires_core = ">=0.1,<1"
    distribution = "mmcat-shipping"
    default_settings = {
        "barcode_prefix": "MMC",  # dewar and container barcodes: <prefix>-D-000123
        "facility_address": "",
    }
