"""Tracked runs of the reproduction, one module per pipeline step (so each DVC stage depends on its own code)."""
