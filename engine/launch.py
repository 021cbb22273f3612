"""How the package starts itself in another process (the pytest plugin's server, `bre load
--spawn` and its generator processes, `bre serve --workers N`).

`python -P -m engine ...` with this interpreter: `-P` keeps the current directory off
`sys.path`, so a project with its own top-level `engine` package (the name this package also
has) does not shadow this one, as `python -m engine` in that project's directory would.
"""

from __future__ import annotations

import sys


def bre(*args: str) -> list[str]:
    """The command line of `bre ARGS...` in a child process, with this interpreter."""
    return [sys.executable, "-P", "-m", "engine", *args]
