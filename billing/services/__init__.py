"""Writes of billing. Every path (hooks, API, tasks, commands) goes through these modules."""
