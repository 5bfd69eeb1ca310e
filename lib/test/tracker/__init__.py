"""Trackers (pytracking interface): one module per tracker script."""
