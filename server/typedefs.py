"""Typed keys for application state (never string keys)."""

from __future__ import annotations

import aiohttp
import jinja2
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from server.cache import Cache
from server.channels import Channel
from server.clock import Clock
from server.deps import Deps
from server.dispatch import Router
from server.metrics import Metrics
from server.processing import MessageProcessor
from server.services.delivery.messenger import WakeOutbox
from server.services.delivery.outbox import Outbox
from server.services.people.binding import Binder
from server.services.people.identities import IdentityDirectory
from server.services.study.points import PointsRules
from server.sessions import SessionStore
from server.settings import Settings
from server.wechat.client import WeChatClient
from study_content.corpus import Unit
from study_content.retrieval import CorpusIndex

SETTINGS = web.AppKey("settings", Settings)
CLOCK = web.AppKey("clock", Clock)
METRICS = web.AppKey("metrics", Metrics)
CACHE = web.AppKey("cache", Cache)
HTTP_SESSION = web.AppKey("http_session", aiohttp.ClientSession)
WECHAT_CLIENTS = web.AppKey("wechat_clients", dict[Channel, WeChatClient])
PROCESSOR = web.AppKey("processor", MessageProcessor)
ROUTER = web.AppKey("router", Router)
CORPUS = web.AppKey("corpus", list[Unit])
CORPUS_INDEX = web.AppKey("corpus_index", CorpusIndex)
OUTBOX = web.AppKey("outbox", Outbox)
SCHEDULER = web.AppKey("scheduler", AsyncIOScheduler)
# Points rules, read from the settings once, for chat, the API and the dashboard alike.
POINTS_RULES = web.AppKey("points_rules", PointsRules)
# Transports wake the outbox through this, never through the scheduler itself.
WAKE_OUTBOX: web.AppKey[WakeOutbox] = web.AppKey("wake_outbox")
IDENTITIES = web.AppKey("identities", IdentityDirectory)
BINDER = web.AppKey("binder", Binder)
API_SESSIONS = web.AppKey("api_sessions", SessionStore)
# The staff dashboard's template environment (its own key: the API docs may use jinja2 too).
ADMIN_TEMPLATES = web.AppKey("admin_templates", jinja2.Environment)
# What chat and the API are given (server/deps.py), built once the pipeline is up.
DEPS = web.AppKey("deps", Deps)
