"""mmCAT plugin for shipping: shipments of dewars full of pucks to the facility and back, sample
sheets, labels, the shipment state machine, and the facility's scanning of dewars."""

__version__ = "0.1.0"
