"""Scheduled jobs (三会一课 notices, tallies): plain async functions registered in one place."""
