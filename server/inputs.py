"""Input no form of ours can take, refused at the edge whatever the endpoint.

PostgreSQL cannot store or compare text holding a NUL character (it raises, a 500); SQLite
takes it silently.  The API's body and query parsing, the dashboard's middleware and the chat
dispatcher each call this before anything reaches the database.
"""

from __future__ import annotations

from typing import Any

from server.errors import ValidationFailed

NUL = "\x00"
# No field name in the words: the dashboard shows them as they are, naming the field itself.
MESSAGE = "内容不能包含空字符（\\x00），请删去后重试。"


def refuse_nul(data: Any, where: str = "body") -> None:
    """PostgreSQL cannot store a NUL character in text: refuse it here, naming the field.

    Walked without recursion: the parser has already bounded the depth, but this need not rely
    on it.
    """
    stack: list[tuple[str, Any]] = [(where, data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str) and NUL in value:
            raise ValidationFailed(MESSAGE, field=path)
        if isinstance(value, dict):
            for key, item in value.items():
                named = key if path == where else f"{path}.{key}"
                if NUL in key:
                    raise ValidationFailed(MESSAGE, field=where)
                stack.append((named, item))
        elif isinstance(value, list):
            stack.extend((f"{path}.{i}", item) for i, item in enumerate(value))
