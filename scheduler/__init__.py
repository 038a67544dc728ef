"""Scheduled jobs (三会一课 notices, daily tallies): plain async functions registered in one place."""
