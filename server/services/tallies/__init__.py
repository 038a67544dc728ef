"""The tallies wing: the figures staff report upward, counted from the events in SQL, read into
the report, kept in the nightly snapshot, and handed on as a workbook or CSV."""
