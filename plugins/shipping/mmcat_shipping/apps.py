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
        # extra sample-sheet column profiles, name -> {"label", "delimiter", "header_row",
        # "default_container_type", "columns": {header: field}}; see mmcat_shipping.sheets
        "sheet_profiles": {},
    }
