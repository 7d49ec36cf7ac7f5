"""Integration-method adapters: one module per method, one interface (see ``base``)."""
