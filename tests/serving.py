"""For the branches written before tests/support: `from serving import ...` still works.
Remove once no test imports this module; use `tests.support.serving`."""

from tests.support.serving import Served, bre, children, serve

__all__ = ["Served", "bre", "children", "serve"]
