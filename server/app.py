"""The one application factory: `dangjian serve`, `python -m server` and the tests all use it."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from handlers import build_router
from scheduler.runner import scheduler_ctx
from server import gateway, ops
from server.access_log import access_middleware
from server.admin import setup_admin
from server.admin.showcase_page import setup_showcase
from server.api import setup_api
from server.cache import create_cache
from server.channels import Channel
from server.clock import Clock
from server.db import close_database, open_database
from server.deps import Deps
from server.dispatch import Dispatcher, Router
from server.errors import ConfigError
from server.http_errors import error_middleware
from server.llm import LLMAnswerer
from server.metrics import Metrics
from server.models.people import Member
from server.ops_readings import read_all
from server.processing import MessageProcessor
from server.services.delivery.messenger import tell
from server.services.people.bind_alarm import lock_text, secretaries_of
from server.services.people.binding import Binder, BindLimits
from server.services.people.identities import IdentityDirectory
from server.services.study.points import PointsRules
from server.settings import Settings
from server.typedefs import (
    BINDER,
    CACHE,
    CLOCK,
    CORPUS,
    CORPUS_INDEX,
    DEPS,
    HTTP_SESSION,
    IDENTITIES,
    METRICS,
    POINTS_RULES,
    PROCESSOR,
    ROUTER,
    SETTINGS,
    WAKE_OUTBOX,
    WECHAT_CLIENTS,
)
from server.wechat.client import WeChatClient
from study_content.corpus import Unit, load_corpus
from study_content.retrieval import CorpusIndex

log = logging.getLogger("dangjian.app")


# Resources, each in one cleanup context, in dependency order: database, cache, outbound
# HTTP (WeChat clients), then the message pipeline that uses all three.


@functools.lru_cache(maxsize=4)
def _index(units: tuple[Unit, ...], meaning: bool) -> CorpusIndex:
    # Segmenting every unit takes a quarter of a second: once per corpus, not once per app.
    return CorpusIndex.build(units, meaning=meaning)


async def corpus_ctx(app: web.Application) -> AsyncIterator[None]:
    # First, before anything is opened: an invalid corpus stops the start with the full report.
    app[CORPUS] = corpus = load_corpus(*app[SETTINGS].content_folders)
    app[CORPUS_INDEX] = _index(tuple(corpus), app[SETTINGS].qa_meaning)
    yield


async def database_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    await open_database(settings.database_url, pool_size=settings.db_pool_size)
    yield
    await close_database()


async def cache_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    cache = create_cache(
        settings.redis_url,
        settings.redis_prefix,
        app[CLOCK],
        pool_size=settings.redis_pool_size,
        timeout=settings.redis_timeout,
    )
    try:
        await cache.ping()
    except Exception as exc:
        await cache.close()
        raise ConfigError(
            f"DANGJIAN_REDIS_URL: cannot reach Redis ({type(exc).__name__}: {exc})"
        ) from None
    app[CACHE] = cache
    yield
    await cache.close()


async def wechat_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    session = aiohttp.ClientSession()
    app[HTTP_SESSION] = session

    def client(appid: str, secret: str) -> WeChatClient:
        return WeChatClient(
            session=session,
            base_url=settings.api_base,
            appid=appid,
            secret=secret,
            cache=app[CACHE],
            clock=app[CLOCK],
            metrics=app[METRICS],
        )

    app[WECHAT_CLIENTS] = {
        Channel.OFFICIAL_ACCOUNT: client(settings.appid, settings.secret),
        Channel.MINIPROGRAM: client(settings.mp_appid, settings.mp_secret),
    }
    yield
    await session.close()


def _answerer(settings: Settings, session: aiohttp.ClientSession) -> LLMAnswerer | None:
    """The optional model that phrases answers from the retrieved passages (off by default)."""
    if not settings.llm_url:
        return None
    return LLMAnswerer(
        session,
        base_url=settings.llm_url,
        api_key=settings.llm_key,
        model=settings.llm_model,
        timeout=settings.llm_timeout,
    )


async def _tell_secretaries(clients: dict[Channel, WeChatClient], member: Member) -> None:
    for secretary in await secretaries_of(member):
        await tell(secretary.id, lock_text(member), clients)


async def pipeline_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    identities = IdentityDirectory(app[CACHE], app[CLOCK], settings.identity_ttl)
    listener = asyncio.create_task(identities.listen())
    app[IDENTITIES] = identities
    app[BINDER] = Binder(
        app[CACHE],
        identities,
        BindLimits(
            per_user=settings.bind_max_failures,
            per_target=settings.bind_target_max_failures,
            overall=settings.bind_global_max_failures,
            by_name=settings.name_binding,
        ),
        now=app[CLOCK].now,
        on_lock=functools.partial(_tell_secretaries, app[WECHAT_CLIENTS]),
    )
    app[DEPS] = deps = Deps(
        settings=settings,
        cache=app[CACHE],
        clock=app[CLOCK],
        identities=identities,
        binder=app[BINDER],
        points_rules=app[POINTS_RULES],
        corpus=app[CORPUS],
        corpus_index=app[CORPUS_INDEX],
        answerer=_answerer(settings, app[HTTP_SESSION]),
        wechat_clients=app[WECHAT_CLIENTS],
        wake_outbox=app[WAKE_OUTBOX],
        reminder_offsets=settings.reminder_schedule,
    )
    dispatcher = Dispatcher(
        app[ROUTER],
        cache=app[CACHE],
        identities=identities,
        conversation_ttl=settings.conversation_timeout,
        deps=deps.by_name(),
    )
    processor = MessageProcessor(
        dispatcher, app[CACHE], app[WECHAT_CLIENTS], app[METRICS], settings.reply_deadline
    )
    app[PROCESSOR] = processor
    app[METRICS].up.set(1)
    yield
    app[METRICS].up.set(0)
    await processor.drain()
    listener.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await listener


async def _to_dashboard(request: web.Request) -> web.StreamResponse:
    """The bare address opened in a browser: the dashboard (or the page that says how in)."""
    raise web.HTTPFound("/admin")


def create_app(
    settings: Settings, *, clock: Clock | None = None, router: Router | None = None
) -> web.Application:
    """`router` replaces the chat features (tests that need a handler of their own)."""
    # The access line outermost: it sees the status the error middleware answered with.
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[access_middleware, error_middleware],
    )
    app[SETTINGS] = settings
    app[POINTS_RULES] = PointsRules.from_settings(settings)
    app[ROUTER] = router or build_router()
    app[CLOCK] = clock or Clock(settings.zone)
    app[METRICS] = metrics = Metrics()
    metrics.on_scrape(lambda: read_all(metrics, app[CLOCK].now()))
    app.cleanup_ctx.extend(
        [corpus_ctx, database_ctx, cache_ctx, wechat_ctx, scheduler_ctx, pipeline_ctx]
    )
    gateway.setup_routes(app)
    setup_api(app)
    ops.setup_routes(app)
    setup_admin(app)  # the staff dashboard under /admin
    setup_showcase(app)  # the public 晒单 pages under /community
    app.router.add_get("/", _to_dashboard)
    if settings.embedded_fake_wechat:
        from server.wechat.fake import FakeWeChat, create_fake_app

        # Development only: outbound calls land on this same server, so late replies and
        # notices can be watched (`dangjian chat` prints them) with nothing else running.
        app.add_subapp("/fake-wechat", create_fake_app(FakeWeChat(clock=app[CLOCK])))
    return app
