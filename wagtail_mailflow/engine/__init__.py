"""The automation engine: who enters a workflow, when each email is due, and sending it.

It knows nothing of HTTP, the admin or a particular ESP.
"""
