"""Passive replies, rendered by hand so that CDATA is escaped (wechatpy's renderer is not)."""

from __future__ import annotations

SUCCESS = "success"


def cdata(text: str) -> str:
    # "]]>" would close the section early and let a member inject XML into our reply.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


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
