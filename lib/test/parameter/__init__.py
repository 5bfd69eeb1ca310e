"""Tracker parameters: one module per tracker script, parameters(config) -> TrackerParams."""
