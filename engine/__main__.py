"""`python -m engine serve ...` is `bre serve ...`."""

import gc

gc.disable()  # start-up (imports) without cyclic collections: `engine.cli.main` says when again

from engine.cli import main  # noqa: E402

raise SystemExit(main())
