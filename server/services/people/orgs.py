"""The organisation tree: find or create a level by its `/`-separated path.

A path names every level from the committee down, e.g. "示范街道党工委/红星村党总支/红星村第一
党支部".
The kind of each level is inferred from its place and name, because that is all a spreadsheet
gives us: the first segment is the committee (党工委); a segment ending in 总支 / 总支部 is a
general branch and may only sit directly under the committee; any other segment is a branch.
Nothing may sit under a branch except party groups, and those are only made by `ensure_group`
(an import names them in their own 党小组 column), so a typo cannot silently turn a group into a
branch.

Every helper takes an optional `cache` (path → Organisation).  Pass one dict for a whole import
and preload it with `load_org_cache`: a 10,000-row file then costs one query for the tree instead
of one per row.
"""

from __future__ import annotations

from itertools import pairwise

from tortoise.backends.base.client import BaseDBAsyncClient

from server.errors import ValidationFailed
from server.models.people import ORG_KIND_LABELS, Organisation, OrgKind

SEPARATOR = "/"
GENERAL_BRANCH_SUFFIXES = ("总支", "总支部")
NAME_MAX = 100  # Organisation.name
PATH_MAX = 500  # Organisation.path

OrgCache = dict[str, Organisation]


def split_path(path: str) -> list[str]:
    """Normalise a path into its segments; tolerate stray spaces, outer and full-width slashes."""
    normalised = path.replace("／", SEPARATOR).strip().strip(SEPARATOR)
    if not normalised:
        raise ValidationFailed("组织路径为空 / organisation path is empty", field="path")
    segments = [segment.strip() for segment in normalised.split(SEPARATOR)]
    if any(not segment for segment in segments):
        raise ValidationFailed(
            f"组织路径“{path}”中有空的一级 / organisation path has an empty level", field="path"
        )
    for segment in segments:
        if len(segment) > NAME_MAX:
            raise ValidationFailed(
                f"组织名称超过{NAME_MAX}字：“{segment[:20]}…” / "
                f"organisation name longer than {NAME_MAX} characters",
                field="path",
            )
    if len(SEPARATOR.join(segments)) > PATH_MAX:
        raise ValidationFailed(
            f"组织路径超过{PATH_MAX}字 / organisation path longer than {PATH_MAX} characters",
            field="path",
        )
    return segments


def infer_kinds(segments: list[str]) -> list[OrgKind]:
    """The kind of each level, or ValidationFailed if the levels cannot nest that way."""
    kinds = [OrgKind.COMMITTEE]
    for previous, segment in pairwise(segments):
        parent = kinds[-1]
        if parent is OrgKind.BRANCH:
            raise ValidationFailed(
                f"“{segment}”不能设在党支部“{previous}”之下（党小组请填在党小组列） / "
                f"nothing may sit under branch “{previous}”; put party groups in the group column",
                field="path",
            )
        if segment.endswith(GENERAL_BRANCH_SUFFIXES):
            if parent is not OrgKind.COMMITTEE:
                raise ValidationFailed(
                    f"党总支“{segment}”只能直接设在党工委之下 / "
                    f"general branch “{segment}” must sit directly under the committee",
                    field="path",
                )
            kinds.append(OrgKind.GENERAL_BRANCH)
        else:
            kinds.append(OrgKind.BRANCH)
    return kinds


def normalise_path(path: str) -> str:
    return SEPARATOR.join(split_path(path))


def _kind_conflict(path: str, existing: OrgKind, wanted: OrgKind) -> ValidationFailed:
    return ValidationFailed(
        f"组织“{path}”已存在，类型为{ORG_KIND_LABELS[existing]}而不是{ORG_KIND_LABELS[wanted]} / "
        f"organisation “{path}” already exists as a {existing.value}, not a {wanted.value}",
        field="path",
    )


def missing_levels(path: str, cache: OrgCache) -> list[tuple[str, OrgKind]]:
    """The levels of `path` absent from a *complete* cache, parents first.

    Raises ValidationFailed when the path is malformed or a level exists with another kind, so
    an import can report the problem against its row before anything is written.
    """
    segments = split_path(path)
    kinds = infer_kinds(segments)
    missing: list[tuple[str, OrgKind]] = []
    for depth, kind in enumerate(kinds, start=1):
        prefix = SEPARATOR.join(segments[:depth])
        org = cache.get(prefix)
        if org is None:
            missing.append((prefix, kind))
        elif org.kind != kind:
            raise _kind_conflict(prefix, org.kind, kind)
    return missing


async def load_org_cache(*, using_db: BaseDBAsyncClient | None = None) -> OrgCache:
    """Every organisation by path: one query, a few hundred rows for a street."""
    return {org.path: org for org in await Organisation.all(using_db=using_db)}


async def _get_or_create(
    path: str,
    name: str,
    kind: OrgKind,
    parent: Organisation | None,
    *,
    using_db: BaseDBAsyncClient | None,
    cache: OrgCache | None,
) -> Organisation:
    org = cache.get(path) if cache is not None else None
    if org is None:
        org = await Organisation.get_or_none(path=path, using_db=using_db)
    if org is None:
        org = await Organisation.create(
            name=name, kind=kind, parent=parent, path=path, using_db=using_db
        )
    elif org.kind != kind:
        raise _kind_conflict(path, org.kind, kind)
    if cache is not None:
        cache[path] = org
    return org


async def ensure_path(
    path: str, *, using_db: BaseDBAsyncClient | None = None, cache: OrgCache | None = None
) -> Organisation:
    """The organisation at `path`, creating each missing level (parents first)."""
    segments = split_path(path)
    kinds = infer_kinds(segments)
    org: Organisation | None = None
    for depth, (segment, kind) in enumerate(zip(segments, kinds, strict=True), start=1):
        prefix = SEPARATOR.join(segments[:depth])
        org = await _get_or_create(prefix, segment, kind, org, using_db=using_db, cache=cache)
    assert org is not None  # split_path never returns an empty list
    return org


def group_path(branch_path: str, name: str) -> str:
    path = f"{branch_path}{SEPARATOR}{validate_group_name(name)}"
    if len(path) > PATH_MAX:
        raise ValidationFailed(
            f"党小组路径超过{PATH_MAX}字 / party group path longer than {PATH_MAX} characters",
            field="group",
        )
    return path


def validate_group_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ValidationFailed("党小组名称为空 / party group name is empty", field="group")
    if SEPARATOR in name or "／" in name:
        raise ValidationFailed(
            f"党小组名称“{name}”不能含“/” / party group name may not contain '/'", field="group"
        )
    if len(name) > NAME_MAX:
        raise ValidationFailed(
            f"党小组名称超过{NAME_MAX}字 / party group name longer than {NAME_MAX} characters",
            field="group",
        )
    return name


def check_group_parent(branch_path: str, kind: OrgKind) -> None:
    if kind is not OrgKind.BRANCH:
        raise ValidationFailed(
            f"党小组只能设在党支部之下，“{branch_path}”是{ORG_KIND_LABELS[kind]} / "
            f"party groups belong under a branch; “{branch_path}” is a {kind.value}",
            field="group",
        )


async def ensure_group(
    branch: Organisation,
    name: str,
    *,
    using_db: BaseDBAsyncClient | None = None,
    cache: OrgCache | None = None,
) -> Organisation:
    """The party group `name` under `branch`, created if missing."""
    check_group_parent(branch.path, branch.kind)
    name = validate_group_name(name)
    return await _get_or_create(
        group_path(branch.path, name), name, OrgKind.GROUP, branch, using_db=using_db, cache=cache
    )
