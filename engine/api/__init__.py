"""The HTTP adapter: QRadar's REST API, the help endpoints, the control surface, OpenAPI."""
