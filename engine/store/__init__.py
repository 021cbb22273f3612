"""Stores: the port the engine depends on (`base`), the factory that opens one from a URL
(`factory`), and its adapters (`memory`, `sqlite`)."""
