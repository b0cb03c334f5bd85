"""Talking to the ESP: building messages, sending a batch, receiving tracking events."""
