"""The operator dashboard: server-rendered pages for staff, refreshed by htmx."""
