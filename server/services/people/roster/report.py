"""What an import reports: each bad cell or row, the counts, and the summary the CLI prints."""

from __future__ import annotations

from dataclasses import dataclass, field

from server.errors import ValidationFailed

ROW_FIELD = "整行 row"  # RowError.field when the problem is the row, not one cell


def file_error(message_zh: str, message_en: str) -> ValidationFailed:
    """A problem with the file as a whole (type, encoding, header): raised, not collected."""
    return ValidationFailed(f"{message_zh} / {message_en}", field="file")


@dataclass(frozen=True, slots=True)
class RowError:
    line: int  # as the spreadsheet shows it: the header is line 1
    field: str  # the column header as written in the file
    reason: str

    def __str__(self) -> str:
        return f"第{self.line}行 line {self.line} [{self.field}]: {self.reason}"


@dataclass
class ImportReport:
    file: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    organisations_created: int = 0
    dry_run: bool = False
    ignored_columns: list[str] = field(default_factory=list)
    mobile_created: int = 0  # 流出 records for members marked 流动党员 without one
    mobile_kept: list[str] = field(default_factory=list)  # 否 in the roll, 流出 in the branch's
    mobile_ended: list[str] = field(default_factory=list)  # 转出: their 流出 record ended
    stopped_kept: list[str] = field(default_factory=list)  # 在册 in the roll, 停止党籍 here
    incoming_taken: list[str] = field(default_factory=list)  # ended 流入, now on the roll

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self, max_errors: int = 100) -> str:
        lines = [f"导入 Import {self.file}: 共 {self.rows} 行 / {self.rows} rows"]
        if self.ignored_columns:
            lines.append(f"  已忽略的列 ignored columns: {', '.join(self.ignored_columns)}")
        if self.errors:
            lines.append(
                f"发现 {len(self.errors)} 处错误，未写入任何数据 / "
                f"{len(self.errors)} errors found, nothing was written:"
            )
            lines.extend(f"  {error}" for error in self.errors[:max_errors])
            if len(self.errors) > max_errors:
                rest = len(self.errors) - max_errors
                lines.append(f"  …另有 {rest} 处错误 / …and {rest} more")
            return "\n".join(lines)
        verb = "将" if self.dry_run else ""
        lines.append(
            f"  {verb}新建 created {self.created}，{verb}更新 updated {self.updated}，"
            f"未变 unchanged {self.unchanged}，"
            f"{verb}新建组织 organisations created {self.organisations_created}"
        )
        if self.mobile_created:
            lines.append(
                f"  {verb}登记流出 {self.mobile_created} 人 / mobile records created "
                f"{self.mobile_created}（没有去向的记为“未登记”，请支部补全）"
            )
        if self.mobile_kept:
            lines.append(
                f"  {len(self.mobile_kept)} 名党员花名册中不是流动党员，但支部登记了流出，"
                f"仍按流动党员管理：{_shown(self.mobile_kept)}；如已返回，请支部“结束流动” / "
                "kept as mobile: the branch's 流出 record is open"
            )
        if self.mobile_ended:
            lines.append(
                f"  {verb}结束流出记录 {len(self.mobile_ended)} 人（组织关系转出）："
                f"{_shown(self.mobile_ended)} / mobile records ended: transferred out"
            )
        if self.stopped_kept:
            lines.append(
                f"  {len(self.stopped_kept)} 名已停止党籍的党员保持原状态（恢复党籍须按程序办理）："
                f"{_shown(self.stopped_kept)} / stopped members kept stopped"
            )
        if self.incoming_taken:
            lines.append(
                f"  {len(self.incoming_taken)} 名已结束流动的原流入党员{verb}登记为本支部党员："
                f"{_shown(self.incoming_taken)}；{verb}解除其报到时绑定的微信，须本人重新绑定 / "
                "former incoming members taken onto the roll, their WeChat unbound"
            )
        if self.dry_run:
            lines.append("试运行，未写入任何数据 / dry run: nothing was written")
        elif (
            self.created
            == self.updated
            == self.organisations_created
            == self.mobile_created
            == len(self.mobile_ended)
            == 0
        ):
            lines.append("数据已是最新 / already up to date, nothing changed")
        return "\n".join(lines)


def _shown(names: list[str]) -> str:
    return "、".join(names[:10]) + ("等" if len(names) > 10 else "")
