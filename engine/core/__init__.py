"""The pure core: QRadar's vocabulary, codes, lifecycles and rules. No I/O, no HTTP, no SQL."""
