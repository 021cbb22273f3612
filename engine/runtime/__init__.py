"""The engine: clocks, lifecycle machines, the progression model and the worker."""
