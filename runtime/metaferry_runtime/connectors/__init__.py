"""Built-in connectors, one module each, registered as entry points of group `metaferry.connectors`."""
