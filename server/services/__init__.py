"""Domain services: plain async functions over the ORM (`server/models/`), with no knowledge of
HTTP, chat or WeChat.  One package per wing:

- `study`: 打卡, points, today's unit, 答题, 心得体会 and their review, a member's record
- `meetings`: 三会一课 scheduling, attendance and leave, notices, compliance, the plan, the ledger
- `delivery`: the outbox sender
- `tallies`: the figures staff report upward, their snapshot and their files
- `people`: access and scope, the organisation tree, identities and binding, the roster importer
- `demo`: the synthetic street of `dangjian seed-demo`
"""
