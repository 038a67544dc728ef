"""What the transports are given, as one typed object the app factory builds (`DEPS`).

Chat and the API reach the same services with the same things.  The API reads them as
`call.deps.clock`; a chat handler declares `clock: Clock` or `wake_outbox: WakeOutbox` and the
dispatcher passes the value of that name, the message's own values (member, text,
conversation, …) coming from `ChatContext.injectables`.  `tests/test_deps.py` checks every
handler asks only for names one of the two gives, so a typo fails a test rather than a member's
message.  (The API's own sessions, like the dashboard's, are its transport's, not here.)
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from server.cache import Cache
from server.channels import Channel
from server.clock import Clock
from server.llm import LLMAnswerer
from server.services.delivery.messenger import WakeOutbox
from server.services.people.binding import Binder
from server.services.people.identities import IdentityDirectory
from server.services.study.points import PointsRules
from server.settings import Settings
from server.wechat.client import WeChatClient
from study_content.corpus import Unit
from study_content.retrieval import CorpusIndex


@dataclass(frozen=True)
class Deps:
    settings: Settings
    cache: Cache
    clock: Clock
    identities: IdentityDirectory
    binder: Binder
    points_rules: PointsRules
    corpus: list[Unit]
    corpus_index: CorpusIndex
    answerer: LLMAnswerer | None
    wechat_clients: dict[Channel, WeChatClient]
    wake_outbox: WakeOutbox
    reminder_offsets: list[tuple[str, int]]  # DANGJIAN_REMINDER_OFFSETS, read once

    @classmethod
    def names(cls) -> frozenset[str]:
        return frozenset(f.name for f in fields(cls))

    def by_name(self) -> dict[str, Any]:
        """The dispatcher's injectables: a handler's parameter is looked up by its name."""
        return {name: getattr(self, name) for name in self.names()}
