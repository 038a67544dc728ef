"""What the demo's meetings are about, and the words their records use.

Topics follow the calendar: a document is studied only once it exists (二十届三中全会 from July
2024, 四中全会 from October 2025, the 纪律处分条例 as revised in December 2023), and seasonal
work (防汛, winter safety, 民主评议) only in its season.  Whether a meeting is organised study
is never set here: `services.meetings.is_study` decides it from the type and the topic, as it
does for a secretary's booking.
"""

from __future__ import annotations

import random
from datetime import date

from server.models.meetings import MeetingType

# (text, available from, months or None for any)
Topic = tuple[str, date, tuple[int, ...] | None]
_ANY = date(2000, 1, 1)
PLENUM_3 = date(2024, 7, 18)  # 二十届三中全会 closed
PLENUM_4 = date(2025, 10, 23)  # 二十届四中全会 closed
REGULATION_2023 = date(2023, 12, 19)  # 纪律处分条例 revised and published
FLOODS = (5, 6, 7, 8, 9)
WINTER = (11, 12, 1, 2)
YEAR_END = (11, 12, 1)

TOPICS: dict[str, list[Topic]] = {
    MeetingType.COMMITTEE_MEETING: [
        ("研究本月支部工作安排", _ANY, None),
        ("研究确定入党积极分子培养联系人", _ANY, None),
        ("研究本月主题党日活动方案", _ANY, None),
        ("研究走访慰问困难党员和困难群众工作", _ANY, None),
        ("听取各党小组工作情况汇报，研究下一步工作", _ANY, None),
        ("研究网格内群众反映集中的问题", _ANY, None),
        ("研究党费收缴使用情况", _ANY, None),
        ("研究年度民主评议党员和组织生活会准备工作", _ANY, YEAR_END),
        ("研究汛期值班和隐患排查安排", _ANY, FLOODS),
        ("传达学习上级会议精神，研究贯彻落实措施", _ANY, None),
    ],
    MeetingType.GROUP_MEETING: [
        ("讨论网格内重点人群走访安排", _ANY, None),
        ("开展批评和自我批评，交流近期思想和工作情况", _ANY, None),
        ("收集网格内群众意见建议", _ANY, None),
        ("讨论党员认领服务事项落实情况", _ANY, None),
        ("讨论党员联系户走访情况", _ANY, None),
        ("交流近期为群众办实事情况", _ANY, None),
        ("组织党员学习党章，对照检查", _ANY, None),
        ("学习党的二十届四中全会精神，交流体会", PLENUM_4, None),
        ("讨论冬季关爱独居老人和用火用气安全排查", _ANY, WINTER),
        ("讨论汛期低洼地带巡查分工", _ANY, FLOODS),
    ],
    MeetingType.BRANCH_MEETING: [
        ("听取支部工作情况报告，讨论下一步工作安排", _ANY, None),
        ("讨论预备党员按期转为正式党员", _ANY, None),
        ("讨论接收发展对象为预备党员", _ANY, None),
        ("通报党费收缴使用情况，讨论年度工作要点", _ANY, None),
        ("讨论年度民主评议党员工作安排", _ANY, YEAR_END),
    ],
    MeetingType.PARTY_LECTURE: [
        ("学习贯彻党的二十届四中全会精神", PLENUM_4, None),
        ("学习贯彻党的二十届三中全会精神", PLENUM_3, None),
        ("严守党的纪律——学习《中国共产党纪律处分条例》", REGULATION_2023, None),
        ("践行全心全意为人民服务的根本宗旨", _ANY, None),
        ("从党的历史中汲取奋进力量", _ANY, None),
        ("深入贯彻中央八项规定精神，持续改进作风", _ANY, None),
        ("学习党章，做合格党员", _ANY, None),
    ],
    MeetingType.THEME_DAY: [
        ("重温入党誓词，开展“我为群众办实事”志愿服务", _ANY, None),
        ("学习党章，开展党员先锋岗承诺践诺", _ANY, None),
        ("走访慰问困难党员和困难群众", _ANY, None),
        ("开展垃圾分类宣传和小区环境整治", _ANY, None),
        ("学习党的二十届四中全会精神，开展志愿服务", PLENUM_4, None),
        ("开展防汛知识宣传和隐患排查", _ANY, FLOODS),
        ("开展冬季消防和燃气安全宣传", _ANY, WINTER),
        ("参观红色教育基地，重温入党誓词", _ANY, None),
    ],
    MeetingType.GROUP_STUDY: [
        ("集中学习党的二十届四中全会精神", PLENUM_4, None),
        ("集中学习党的二十届三中全会精神", PLENUM_3, None),
        ("集中学习《中国共产党纪律处分条例》", REGULATION_2023, None),
        ("集中学习《中国共产党章程》", _ANY, None),
        ("集中学习《中国共产党支部工作条例（试行）》", _ANY, None),
    ],
}

_VILLAGE_ONLY = ("研究村级集体经济合作社分红方案", _ANY, None)


def available(options: list[Topic], day: date) -> list[str]:
    return [
        text
        for text, since, months in options
        if since <= day and (months is None or day.month in months)
    ]


def meeting_topic(kind: str, day: date, place: str, rng: random.Random) -> str:
    options = list(TOPICS.get(kind, [("研究支部工作", _ANY, None)]))
    if kind == MeetingType.COMMITTEE_MEETING and place == "village":
        options.append(_VILLAGE_ONLY)
    return rng.choice(available(options, day))


LEAVE_REASONS = (
    "在外地出差",
    "单位值班",
    "身体不适，在医院治疗",
    "陪家人外出就医",
    "参加单位组织的培训",
    "家中老人生病需要照顾",
    "临时接到街道应急任务",
    "孩子生病，在医院陪护",
)
MOBILE_REASONS = ("在外地务工", "在外省务工，无法返回", "随子女在外地居住")
FRAIL_REASONS = ("年老体弱，行动不便", "腿脚不便，已在家自学会议内容")
ABSENT_NOTES = (
    "会后说明：临时加班，未能及时请假",
    "会后说明：外出务工，未及时请假",
    "会后说明：记错了开会时间",
)
SIGNIN_CORRECTIONS = (
    "手机没电未能签到，已在纸质签到表签名",
    "年纪大不会用手机签到，已在纸质签到表签名",
    "现场网络不好未能签到",
)
CANCEL_REASONS = (
    "党小组长临时住院，会议取消，另行安排",
    "与街道集中整治行动时间冲突，会议取消，另行通知",
    "接上级通知参加应急值守，会议取消，另行安排",
)
RESCHEDULE_REASONS = (
    "与街道安排的入户走访时间冲突",
    "部分党员当天有值班任务",
    "会议室临时有其他安排",
)
_DEMANDS = (
    "会议要求，全体党员要把学习成果转化为服务群众的实际行动。",
    "会议要求，各党小组要抓好落实，按时向支部反馈情况。",
    "会议要求，党员要带头参与网格服务，及时反映群众诉求。",
    "会议要求，请假的党员会后及时补学会议精神。",
)


def minutes_text(
    kind: str, topic: str, chair: str, expected: int, present: int, rng: random.Random
) -> str:
    """The 纪要 a recorder would write: who ran it, who came, what it did, what it asked."""
    by_kind: dict[str, str] = {
        MeetingType.COMMITTEE_MEETING: f"会议{topic}，明确了责任分工和完成时限。",
        MeetingType.GROUP_MEETING: f"会议围绕“{topic}”进行了讨论，党员逐一发言。",
        MeetingType.BRANCH_MEETING: f"会议{topic}，按程序进行了表决。",
        MeetingType.PARTY_LECTURE: f"党课以“{topic}”为题，结合身边事例进行了讲解。",
        MeetingType.THEME_DAY: f"活动内容：{topic}。",
        MeetingType.GROUP_STUDY: f"会议{topic}，与会党员交流了学习体会。",
    }
    did = by_kind.get(kind, f"会议{topic}。")
    return f"会议由{chair}主持，应到{expected}人，实到{present}人。{did}{rng.choice(_DEMANDS)}"
