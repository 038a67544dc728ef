"""The meetings wing (三会一课): scheduling and the types of meeting, the time a secretary types,
attendance and leave, notices written to the outbox, what a branch still owes (compliance and the
dashboard's lights), the yearly plan, and the ledger (台账)."""
