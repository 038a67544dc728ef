"""The ORM models, one module per domain: what is stored, and the rules that are the columns'
own (a meeting counts as held once it is over and not cancelled).  Domain logic that reads or
writes them lives in `server/services/`; nothing here knows of chat, HTTP or WeChat.

- `people`: organisations, members, their WeChat identities, bind codes, admin links, changes
- `study`: 打卡, points, unit readings, quizzes, 心得
- `meetings`: 三会一课 meetings, who is expected, every change, planned meetings
- `notices`: meeting notices and subscribe-message grants
- `tallies`: the nightly tally snapshots
- `jobs`: scheduled job runs and what each sent
- `five_star`: 五星支部, each year's assessment of each branch
- `duty_lists`: the committee's 五张清单, their notes, evidence and the branches they concern
"""
