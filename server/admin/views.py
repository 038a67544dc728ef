"""The dashboard's routes, in one table; the pages themselves live in modules named for them.

- `signing`: the sign-in hint, the link's button, the session cookie, signing out;
- `overview`: `/admin` — a branch's page (`branch_page`) or the overview above branches;
- `branch_page`: a 党支部's meetings, lights, 心得 and its ledger download;
- `picker`: finding an organisation by name;
- `members_page`: 党员管理 (its roster download in `members_export`; a member's 个人信息,
  exported and erased by the committee's staff, in `member_privacy` and `member_erase`);
- `exports`: the tally as XLSX or CSV;
- `mobile_page`: 流动党员, the figures by branch or a branch's working list, its XLSX and a
  流入 member's record (its forms in `mobile_actions`, its lines and to-dos in `mobile_desk`);
- `community_page`: 社区服务, a community's needs, reported members, orders and units
  (its forms in `community_actions`, the staff's 报到单位 in `community_units`, a unit's
  联系卡 and its XLSX in `community_card`);
- `duty_lists_page`: 五张清单, the list with its counts and filters, an item, the XLSX (its
  forms in `duty_lists_actions`).

`render`, `message_page` and `signed_in` are importable from here too, for pages added beside.
"""

from __future__ import annotations

from aiohttp import web

from server.admin import (
    branch_page,
    community_actions,
    community_card,
    community_page,
    community_posts,
    community_units,
    duty_lists_actions,
    duty_lists_page,
    exports,
    member_erase,
    member_privacy,
    members_export,
    members_page,
    mobile_actions,
    mobile_page,
    overview,
    picker,
    signing,
    stars_page,
)
from server.admin.pages import message_page, render
from server.admin.signing import signed_in

__all__ = ["add_routes", "message_page", "render", "signed_in"]


def add_routes(admin: web.Application) -> None:
    admin.router.add_get("", overview.home, name="overview")
    admin.router.add_get("/", overview.home)
    admin.router.add_get("/signin", signing.sign_in_hint, name="signin")
    admin.router.add_get("/login", signing.login_page, name="login")
    admin.router.add_post("/login", signing.login)
    admin.router.add_post("/logout", signing.logout, name="logout")
    admin.router.add_get("/export", exports.export, name="export")
    admin.router.add_get("/ledger", branch_page.ledger, name="ledger")
    admin.router.add_get("/orgs", picker.results_page, name="picker")
    admin.router.add_get("/members", members_page.members_page, name="members")
    admin.router.add_get("/members/export", members_export.download, name="members-export")
    # 个人信息: a member's data handed over, and erased once they left (member_privacy.py)
    admin.router.add_get("/members/privacy", member_privacy.finder, name="members-privacy")
    admin.router.add_get(r"/members/{id:\d+}/privacy", member_privacy.member_page)
    admin.router.add_get(r"/members/{id:\d+}/data.xlsx", member_privacy.download)
    admin.router.add_post(r"/members/{id:\d+}/erase", member_erase.erase)
    admin.router.add_post(
        r"/members/{id}/{action:unbind|role|transfer}", members_page.member_action
    )
    admin.router.add_get("/orgs.json", picker.results_json, name="picker-json")
    # 流动党员: the figures by branch, a branch's list and to-dos, its forms (mobile_page.py)
    admin.router.add_get("/mobile", mobile_page.mobile_page, name="mobile")
    admin.router.add_get("/mobile/export", mobile_page.export, name="mobile-export")
    admin.router.add_get("/mobile/members/{id}/record", mobile_page.record)
    admin.router.add_post("/mobile/out", mobile_actions.mark_out)
    admin.router.add_post("/mobile/contacts", mobile_actions.contact)
    admin.router.add_post("/mobile/keepers", mobile_actions.keeper)
    admin.router.add_post("/mobile/searches", mobile_actions.search)
    admin.router.add_post(r"/mobile/incoming/{id}/{action:confirm|refuse}", mobile_actions.decide)
    # 社区服务: a community's side of 双报到 and the 四单制 (community_page.py)
    admin.router.add_get("/community", community_page.community_page, name="community")
    admin.router.add_get("/community/orders/{id}", community_page.order_page)
    admin.router.add_post(
        r"/community/needs/{id}/{action:dispatch|refuse}", community_actions.need_action
    )
    admin.router.add_post(
        r"/community/volunteers/{id}/{action:confirm|refuse}", community_actions.volunteer_action
    )
    admin.router.add_post(
        r"/community/orders/{id}/{action:complete|cancel}", community_actions.order_action
    )
    admin.router.add_post("/community/orders", community_actions.publish)
    admin.router.add_post("/community/posts/{id}/close", community_posts.close_post)
    admin.router.add_post("/community/units", community_units.register_unit)
    admin.router.add_post("/community/units/import", community_units.import_units)
    admin.router.add_get("/community/units/{id}/card", community_card.card_page)
    admin.router.add_get("/community/units/{id}/card.xlsx", community_card.card_download)
    # 星级党员台账: a branch's ledger, its forms, a member's years (stars_page.py)
    admin.router.add_get("/stars", stars_page.stars_page, name="stars")
    admin.router.add_get(r"/stars/members/{id:\d+}", stars_page.member_page)
    admin.router.add_post("/stars/decide", stars_page.decide)
    admin.router.add_post("/stars/confirm", stars_page.confirm)
    # 五张清单: the list with filters and counts, an item, their forms (duty_lists_page.py)
    admin.router.add_get("/duties", duty_lists_page.list_page, name="duties")
    admin.router.add_get("/duties/export", duty_lists_page.export, name="duties-export")
    admin.router.add_get(r"/duties/{id:\d+}", duty_lists_page.item_page)
    admin.router.add_get(r"/duties/files/{id:\d+}", duty_lists_page.file_download)
    admin.router.add_post("/duties", duty_lists_actions.create)
    admin.router.add_post("/duties/carry", duty_lists_actions.carry_over)
    admin.router.add_post(
        r"/duties/{id:\d+}/{action:edit|notes|done|reopen}", duty_lists_actions.item_action
    )
