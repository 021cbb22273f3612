"""Scenario replay: YAML scenario files (format 1), a runner, a report, and a recorder."""
