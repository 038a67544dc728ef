"""Personal information (个人信息保护法): a person's data on request, erasure on request, and
the stated lifetimes of what is kept only for a while.

- `export.member_data`: everything held about one member, as an XLSX (查阅、复制权).
- `erase.erase_member`: a member's personal data removed or anonymised on staff's request
  (删除权), the events counted upward kept without it, and a record of the erasure.
- `retention.purge_expired`: what has a stated lifetime, once it is over (the daily job in
  `scheduler/retention.py`).
- `mentions`: where a person's name or phone may sit in someone else's free text, and how it
  is replaced.
"""
