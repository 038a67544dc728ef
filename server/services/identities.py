"""Who sent this message: the hot lookup that runs for every push.

Written as one prepared SQL join rather than an ORM query: tortoise spends about three times
longer building `filter(...).select_related("member")` than the database spends answering it
(measured with bench/webhook.py under cProfile), and this runs before every reply.
The rows still become ordinary model instances.
"""

from __future__ import annotations

from tortoise import connections

from server.models import Member, WeChatIdentity


def _select(placeholders: tuple[str, str]) -> str:
    identity_cols = sorted(WeChatIdentity._meta.db_fields)
    member_cols = sorted(Member._meta.db_fields)
    columns = [f'i."{c}" AS "i_{c}"' for c in identity_cols]
    columns += [f'm."{c}" AS "m_{c}"' for c in member_cols]
    return (
        f"SELECT {', '.join(columns)} FROM wechat_identity i "
        "JOIN member m ON m.id = i.member_id "
        f"WHERE i.appid = {placeholders[0]} AND i.openid = {placeholders[1]}"
    )


_SQL: dict[str, str] = {}


def _sql_for(dialect: str) -> str:
    if dialect not in _SQL:
        _SQL[dialect] = _select(("$1", "$2") if dialect == "postgres" else ("?", "?"))
    return _SQL[dialect]


async def find_identity(appid: str, openid: str) -> WeChatIdentity | None:
    """The identity with its member loaded, or None for a user who has not bound yet."""
    connection = connections.get("default")
    rows = await connection.execute_query_dict(
        _sql_for(connection.capabilities.dialect), [appid, openid]
    )
    if not rows:
        return None
    row = rows[0]
    identity = WeChatIdentity._init_from_db(
        **{k[2:]: v for k, v in row.items() if k.startswith("i_")}
    )
    identity.member = Member._init_from_db(
        **{k[2:]: v for k, v in row.items() if k.startswith("m_")}
    )
    return identity
