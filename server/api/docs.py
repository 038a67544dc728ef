"""The OpenAPI 3 document, written from the same declarations that register the routes."""

from __future__ import annotations

import html
import re
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from server.api.guide import guide
from server.api.spec import PREFIX, Auth, Call, Endpoint, Routes

routes = Routes("文档")

_ERRORS = {
    "400": "输入有误：`field` 指出哪个字段",
    "401": "未登录、令牌过期或无效",
    "403": "无权访问，或对象不存在（两者回答相同）",
    "409": "与现有状态冲突：会议时间冲突、已经审核过、会议已开始等，见 `code`",
    "429": "尝试次数过多：`Retry-After` 响应头给出多少秒后可以再试",
}
# Every error answer carries one of these in `code`: stable, for a page to tell refusals apart;
# `error` is the Chinese a page may show as it is.
ERROR_CODES = {
    "INVALID": "输入有误（`field` 指出哪个字段）",
    "TOO_LARGE": "请求体过大",
    "UNAUTHORIZED": "未登录、令牌过期或无效，请重新登录",
    "FORBIDDEN": "无权访问，或对象不存在",
    "NOT_FOUND": "对象不存在",
    "MEETING_NOT_FOUND": "没有这个编号的会议（或不在管辖范围内）",
    "SUBMISSION_NOT_FOUND": "没有这个编号的心得（或不在管辖范围内）",
    "CONFLICT": "与现有状态冲突",
    "MEETING_CLASH": "会议时间与同一批人或同一地点的会议冲突",
    "MEETING_STARTED": "会议即将开始或已经开始，不能改期",
    "MEETING_CANCELLED": "会议已经取消",
    "MEETING_OVER": "会议已经结束",
    "ALREADY_REVIEWED": "心得已经审核过",
    "SIGNIN_WRONG_CODE": "签到码不对或已过期",
    "SIGNIN_LOCKED": "签到码错误次数太多，稍后再试（见 Retry-After）",
    "BIND_LOCKED": "绑定尝试次数太多，稍后再试（见 Retry-After）",
    "BIND_PAUSED": "绑定暂停，稍后再试（见 Retry-After）",
    "RATE_LIMITED": "尝试次数过多（见 Retry-After）",
    # 双报到 and the 四单制
    "NOT_REPORTED": "还没有报到（双报到）",
    "NOT_REGISTERED": "还没有居民登记（PUT /community/resident）",
    "NOT_CONFIRMED": "报到还在等社区确认",
    "VOLUNTEER_DECIDED": "报到申请已经处理过",
    "NEED_DECIDED": "需求已经处理过（已下单或不予受理）",
    "ORDER_FULL": "服务单名额已满",
    "ORDER_CLOSED": "服务单已截止认领、办结或撤销",
    "ORDER_STARTED": "服务已经开始，不能放弃",
    "ORDER_NOT_STARTED": "服务还没开始，不能报告完成",
    "ALREADY_CLAIMED": "已经认领了这个服务单",
    "NOT_CLAIMED": "已经放弃了这个服务单",
    "ALREADY_DONE": "已经报告过完成",
    "NOTHING_DONE": "还没有党员报告完成，不能确认",
    "OWN_WORK": "确认人自己参加了这个服务，须由社区其他负责人确认",
    "ORDER_EXISTS": "刚刚已经发布过同样的服务单（同一时间、同一内容）",
    "OPEN_CLAIMS": "还有认领中的服务单，完成或放弃后才能更换社区",
    "HOLDING_POSTS": "还担任着岗位，退岗后才能更换社区",
    "POST_FULL": "岗位名额已满",
    "POST_CLOSED": "岗位已关闭或已到期",
    "ALREADY_HOLDING": "已经担任这个岗位",
    "VOLUNTEER_EXISTS": "已经报到过（每人只报到一次）",
    "ORDER_NOT_DONE": "服务完成后才能评价",
    "ALREADY_RATED": "已经评价过",
    "RATING_CLOSED": "服务完成已超过7天，评价已截止",
    # 流动党员
    "MOBILE_EXISTS": "已登记为流动党员（或这个手机号已流入报到）",
    "DUES_EXISTS": "这个月份的党费已经登记过",
    "DECIDED": "流入报到已经处理过",
    "ALREADY_MEMBER": "手机号或微信已是本街道的党员",
    "WECHAT_API": "微信接口调用失败",
    "INTERNAL": "服务器内部错误",
}


def _schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in [*schema.pop("$defs", {}).items(), (model.__name__, schema)]:
        # Two models of one name (a request's and an answer's) would silently share one entry.
        if components.get(name, sub) != sub:
            raise ValueError(f"two different models are both called {name}")
        components[name] = sub
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _parameters(endpoint: Endpoint, components: dict[str, Any]) -> list[dict[str, Any]]:
    params = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string"}
            if name in endpoint.text_params
            else {"type": "integer", "minimum": 1},
        }
        for name in re.findall(r"{(\w+)}", endpoint.path)
    ]
    if endpoint.query is not None:
        # Enums and other shared types go to components, where OpenAPI references resolve.
        schema = endpoint.query.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(schema.pop("$defs", {}))
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            params.append(
                {
                    "name": name,
                    "in": "query",
                    "required": name in required,
                    "description": prop.get("description", ""),
                    "schema": {k: v for k, v in prop.items() if k not in {"title", "description"}},
                }
            )
    return params


def _answer(endpoint: Endpoint, components: dict[str, Any]) -> dict[str, Any]:
    if endpoint.response is None:  # a file, a page, or this document itself
        return {}
    return {"schema": _schema(endpoint.response, components)}


def _operation(endpoint: Endpoint, components: dict[str, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "200": {
            "description": "成功",
            "content": {endpoint.produces: _answer(endpoint, components)},
        },
        "400": {"$ref": "#/components/responses/Error400"},
    }
    if endpoint.auth is not Auth.PUBLIC:
        responses["401"] = {"$ref": "#/components/responses/Error401"}
        responses["403"] = {"$ref": "#/components/responses/Error403"}
    if endpoint.method != "GET":  # a change may meet a state it cannot change, or a limit
        responses["409"] = {"$ref": "#/components/responses/Error409"}
        responses["429"] = {"$ref": "#/components/responses/Error429"}
    op: dict[str, Any] = {
        "operationId": endpoint.handler.__name__,
        "summary": endpoint.summary,
        "tags": [endpoint.tag],
        "parameters": _parameters(endpoint, components),
        "responses": responses,
    }
    if endpoint.description:
        op["description"] = endpoint.description
    if endpoint.auth is Auth.PUBLIC:
        op["security"] = []
    if endpoint.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _schema(endpoint.body, components)}},
        }
    return op


def openapi() -> dict[str, Any]:
    from server.api import endpoints  # the registry is assembled there

    components: dict[str, Any] = {
        "Error": {
            "type": "object",
            "properties": {
                "error": {"type": "string", "description": "可直接展示的中文说明"},
                "code": {
                    "type": "string",
                    "enum": list(ERROR_CODES),
                    "description": "；".join(f"{k}：{v}" for k, v in ERROR_CODES.items()),
                },
                "field": {"type": "string", "description": "出错的字段（输入有误时）"},
            },
            "required": ["error", "code"],
        }
    }
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints():
        paths.setdefault(PREFIX + endpoint.path, {})[endpoint.method.lower()] = _operation(
            endpoint, components
        )
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "dangjian 小程序接口",
            "version": "1",
            "description": (
                "党员学习、三会一课与参与统计。"
                "除登录外，所有接口需 `Authorization: Bearer <token>`。"
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {
                f"Error{code}": {"description": text, "content": error}
                | (
                    {
                        "headers": {
                            "Retry-After": {
                                "description": "多少秒后可以再试",
                                "schema": {"type": "integer"},
                            }
                        }
                    }
                    if code == "429"
                    else {}
                )
                for code, text in _ERRORS.items()
            },
        },
    }


@routes.get("/openapi.json", summary="本接口的 OpenAPI 3 文档", auth=Auth.PUBLIC)
async def openapi_json(call: Call[Any]) -> dict[str, Any]:
    return openapi()


def _fields(doc: dict[str, Any], op: dict[str, Any]) -> str:
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    ref = body.get("schema", {}).get("$ref", "")
    if not ref:
        return ""
    schema = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    items = []
    for name, prop in schema.get("properties", {}).items():
        what = str(prop.get("description", prop.get("type", "")))
        items.append(f"<li><code>{html.escape(name)}</code> {html.escape(what)}</li>")
    return "".join(items)


def _article(doc: dict[str, Any], path: str, method: str, op: dict[str, Any]) -> str:
    params = "".join(
        f"<li><code>{html.escape(p['name'])}</code>（{p['in']}）"
        f"{html.escape(p.get('description', ''))}</li>"
        for p in op["parameters"]
    )
    fields = _fields(doc, op)
    lock = "" if op.get("security") == [] else " 🔒"
    parts = [
        f"<h3><span class=m>{method.upper()}</span> <code>{html.escape(path)}</code>{lock}</h3>",
        f"<p>{html.escape(op['summary'])}</p>",
        f"<p class=d>{html.escape(op['description'])}</p>" if op.get("description") else "",
        f"<h4>参数</h4><ul>{params}</ul>" if params else "",
        f"<h4>请求体</h4><ul>{fields}</ul>" if fields else "",
    ]
    return f"<article>{''.join(parts)}</article>"


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:960px;margin:auto;padding:1em;line-height:1.5}"
    "article{border:1px solid #ddd;border-radius:6px;padding:.5em 1em;margin:.6em 0}"
    ".m{background:#b71c1c;color:#fff;border-radius:4px;padding:0 .4em;font-size:.85em}"
    "h3{font-size:1em;margin:.3em 0}.d{color:#555}code{word-break:break-all}"
)


@routes.get("/docs", summary="接口文档（网页）", auth=Auth.PUBLIC, produces="text/html")
async def docs_page(call: Call[Any]) -> web.Response:
    """A readable page of every endpoint, from the same document; no scripts, no CDN."""
    doc = openapi()
    sections: dict[str, list[str]] = {}
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            sections.setdefault(op["tags"][0], []).append(_article(doc, path, method, op))
    content = "".join(
        f"<section><h2>{html.escape(tag)}</h2>{''.join(items)}</section>"
        for tag, items in sections.items()
    )
    page = (
        "<!doctype html><html lang=zh-CN><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>dangjian 接口文档</title><style>{_STYLE}</style></head>"
        "<body><h1>dangjian 小程序接口 v1</h1>"
        f"<p>机器可读的文档：<a href='{PREFIX}/openapi.json'>{PREFIX}/openapi.json</a>。"
        "🔒 表示需要 <code>Authorization: Bearer &lt;token&gt;</code>，令牌由 "
        f"<code>POST {PREFIX}/auth/login</code> 取得。</p>"
        f"{guide(call.deps.settings.api_session_ttl)}{content}</body></html>"
    )
    return web.Response(text=page, content_type="text/html")
