"""A simulator of IBM QRadar's Backup and Restore Engine and its REST API."""
