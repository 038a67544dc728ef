"""The 社区服务 page's standing posts (先锋岗, 楼栋长): 关闭岗位, with the form token the other
forms carry.  Published in chat or the API; the desk lists them with their holders."""

from __future__ import annotations

from aiohttp import web

from server.admin import community_tell as tell
from server.admin.community_actions import Step, now, run
from server.services.community import posts


async def _close(step: Step) -> str:
    post = await posts.post_for_manager(step.member, step.target)
    step.ours(post.community_id)
    told = tell.tidings(step.request)
    post = await posts.close(step.member, post.id, now(step), tidings=told)
    names = told.names("post_closed")
    heard = f"将通知在岗党员：{'、'.join(names)}。" if names else ""
    return f"已关闭{posts.post_line(post)}。{heard}"


async def close_post(request: web.Request) -> web.Response:
    return await run(request, _close, "posts")
