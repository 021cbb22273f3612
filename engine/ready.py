"""The ready line of `bre serve`: `ready: URL key=value ...`, written and read in one place.

`bre serve` prints it once it accepts connections, e.g.
`ready: http://127.0.0.1:8000 token=bre-sim-token admin=Xq3... page=http://...:8000/?token=Xq3...`:
the URL, the default console's SEC token, the admin credential of the control surface and the
web page's URL that signs its opener in with it. Readers take the pairs by key, so
later keys (e.g. `ca=`) can be added without breaking them.
"""

from __future__ import annotations

from dataclasses import field

from engine.core.frozen import record

PREFIX = "ready: "


@record
class Ready:
    """The ready line of `bre serve`, read back: its URL and its `key=value` pairs."""

    url: str
    pairs: dict[str, str] = field(default_factory=dict)

    @property
    def token(self) -> str:
        return self.pairs.get("token", "")

    @property
    def admin(self) -> str | None:
        """The admin credential (None when the server's control surface needs none)."""
        return self.pairs.get("admin")

    @property
    def page(self) -> str:
        """The web page's URL (with the admin credential when the server has one)."""
        return self.pairs.get("page", self.url + "/")

    def line(self) -> str:
        return PREFIX + " ".join([self.url, *(f"{k}={v}" for k, v in self.pairs.items())])


def ready_line(url: str, **pairs: str | None) -> str:
    """The line to print; pairs whose value is None are left out."""
    return Ready(url, {k: v for k, v in pairs.items() if v is not None}).line()


def read_ready(line: str) -> Ready | None:
    """The ready line's parts, or None when `line` is not one."""
    if not line.startswith(PREFIX):
        return None
    url, *rest = line[len(PREFIX) :].split()
    pairs = dict(part.partition("=")[::2] for part in rest if "=" in part)
    return Ready(url, pairs)
