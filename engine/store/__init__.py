"""Stores: the port the engine depends on (`base`) and its SQLite adapter (`sqlite`)."""
