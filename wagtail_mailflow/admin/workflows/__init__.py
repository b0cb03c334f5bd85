"""Workflows in the admin: one module per screen or concern, wired by ``viewset``."""
