"""The web page of the simulator: `/` (consoles, one console's timeline and journal, live) and
`/api_doc` (the OpenAPI document for people). An adapter of its own: it reads through the
simulator's and consoles' read APIs and changes things only through the control language.

`Page(simulator, control, journals).routes()` is all the application mounts.
"""

from engine.web.page import Page

__all__ = ["Page"]
