"""`python -m engine serve ...` is `bre serve ...`."""

from engine.cli import main

raise SystemExit(main())
