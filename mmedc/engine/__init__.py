"""Runs recipes on Ray: one task per shard per stage, completion markers, resume."""
