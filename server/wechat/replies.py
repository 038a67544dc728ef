"""Passive replies, rendered by hand so that CDATA is escaped (wechatpy's renderer is not)."""

from __future__ import annotations

SUCCESS = "success"


def cdata(text: str) -> str:
    # "]]>" would close the section early and let a member inject XML into our reply.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


# WeChat refuses (or cuts) a text reply or customer-service text over 2,048 bytes of UTF-8.
MAX_TEXT_BYTES = 2048


def fit(text: str, limit: int = MAX_TEXT_BYTES) -> str:
    """`text` cut on a character boundary to `limit` UTF-8 bytes, marked with an ellipsis."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - len("…".encode())].decode(errors="ignore") + "…"


def byte_pages(text: str, limit: int) -> list[str]:
    """`text` in pages of at most `limit` UTF-8 bytes each, cut between characters."""
    pages: list[str] = []
    page: list[str] = []
    size = 0
    for ch in text:
        width = len(ch.encode())
        if size + width > limit and page:
            pages.append("".join(page))
            page, size = [], 0
        page.append(ch)
        size += width
    if page or not pages:
        pages.append("".join(page))
    return pages


def text_reply(to_user: str, from_user: str, content: str, create_time: int) -> str:
    return (
        "<xml>"
        f"<ToUserName>{cdata(to_user)}</ToUserName>"
        f"<FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{create_time}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata(content)}</Content>"
        "</xml>"
    )
