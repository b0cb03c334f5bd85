"""The public pages, one module per flow: unsubscribe, subscribe, confirm (double opt-in)."""
