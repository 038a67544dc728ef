"""`dangjian chat`: a terminal that plays WeChat's servers against a running dangjian.

Each line typed becomes the push WeChat would send — signed XML, or the AES safe-mode envelope —
POSTed to `{server}/wechat`; the passive reply is printed at once.  Answers sent later through the
customer-service API never come back on that request, so the chat reads them from the fake WeChat
API's call log (`{api_base}/_fake/calls`) and prints the ones addressed to us.

    options.py       the command line and `ChatOptions`
    users.py         the members played and their openids
    pushes.py        the pushes WeChat would send, and reading the server's passive replies
    late_replies.py  replies sent later through the API, read from the fake's call log
    conversation.py  one typed line: a chat command, or a push and its reply
    screen.py        output that keeps late replies off the prompt line
    terminal.py      `run_chat`: the interactive and the scripted loop
"""

from server.chat_cli.conversation import BOT, COMMANDS, WECHAT_DEADLINE, Outcome
from server.chat_cli.late_replies import BOT_LATER, describe_call
from server.chat_cli.options import DEFAULT_WAIT, ChatOptions, add_arguments, options_from_args
from server.chat_cli.pushes import (
    BROKEN_ACCOUNT,
    ReplyError,
    describe_reply,
    event_xml,
    open_reply,
    sign_push,
    text_message_xml,
)
from server.chat_cli.screen import PROMPT
from server.chat_cli.terminal import HINT, run_chat
from server.chat_cli.users import openid_for, short_openid

__all__ = [
    "BOT",
    "BOT_LATER",
    "BROKEN_ACCOUNT",
    "COMMANDS",
    "DEFAULT_WAIT",
    "HINT",
    "PROMPT",
    "WECHAT_DEADLINE",
    "ChatOptions",
    "Outcome",
    "ReplyError",
    "add_arguments",
    "describe_call",
    "describe_reply",
    "event_xml",
    "open_reply",
    "openid_for",
    "options_from_args",
    "run_chat",
    "short_openid",
    "sign_push",
    "text_message_xml",
]
