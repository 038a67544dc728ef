"""五张清单: the committee's Party-building duty items — who may do what (`who`), what an
item's state is (`status`), reading them with filters and counts (`reading`), writing them
(`items`), carrying a year over (`carry`), the committee's table as XLSX (`export`), and the
reminders' words and recipients (`reminders`).  No HTTP, no chat: the dashboard, chat and the
scheduler call these.
"""
