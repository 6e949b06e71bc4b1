"""Fixtures come from apprun's pytest plugin (apprun.testing.plugin, registered by entry point)."""
