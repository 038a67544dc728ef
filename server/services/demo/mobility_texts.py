"""The demo's 流动党员 words: where members went and why, how they are reached, what a 联系人
writes in the contact log, a yearly report, where 流入 members come from, and the steps of a
search for a member out of contact.  All fictional: "某" stands for any real unit or village.
"""

from __future__ import annotations

from server.models.mobility import FlowReason

# (place, weight): where the street's members go for work — the Yangtze and Pearl River deltas.
PLACES: tuple[tuple[str, int], ...] = (
    ("江苏苏州", 6),
    ("浙江宁波", 5),
    ("广东深圳", 5),
    ("上海", 4),
    ("浙江杭州", 3),
    ("广东东莞", 3),
    ("江苏南京", 2),
    ("福建厦门", 2),
    ("北京", 1),
)

# (reason, weight): most leave for work, as the seed report's villages do.
REASONS: tuple[tuple[FlowReason, int], ...] = (
    (FlowReason.WORK, 20),
    (FlowReason.JOB_CHANGE, 3),
    (FlowReason.RESIDENCE, 3),  # 随子女
    (FlowReason.GRADUATION, 1),
)

REACH = (
    "本人手机（微信同号）",
    "本人微信",
    "本人手机；家属（配偶）可转告",
    "本人微信；父母住本村，可转告",
    "本人手机，晚上七点后方便接听",
)

OTHER_ORGS = ("{city}某物流公司党支部", "{city}某电子厂党支部", "{city}某社区党委流动党员服务站")

# (channel, what the 联系人 wrote)
CONTACT_NOTES: tuple[tuple[str, str], ...] = (
    ("电话", "了解近况，工作顺利，提醒按时交纳党费"),
    ("微信", "转发本月主题党日学习材料，本人已阅并谈了体会"),
    ("电话", "询问工作和家庭情况，家中老人身体尚好"),
    ("微信", "通知支部党员大会安排，本人表示线上参加"),
    ("视频", "视频连线，交流在外参加组织生活的情况"),
    ("微信", "提醒按时收看学习内容，完成本月学习"),
    ("电话", "了解在外务工权益保障情况，无困难"),
    ("微信", "告知村里近期重点工作，本人表示支持"),
    ("电话", "春节返乡安排，表示回村后到支部报到"),
    ("走访", "走访其家属，转达支部问候，了解本人近况"),
    ("微信", "交流学习体会，鼓励在外发挥先锋模范作用"),
    ("电话", "提醒参加流入地党组织活动，本人已参加两次"),
)

ORG_LIFE = (
    "在{city}务工地党组织参加主题党日和学习，每季度线上参加本支部党员大会",
    "通过线上参加本支部组织生活，按时完成学习并交流体会",
    "持流动党员活动证在{city}某社区党委参加组织生活",
    "在{city}某企业党支部参加三会一课，年底回村参加组织生活会",
)
DUES_WHERE = ("向本支部交纳（微信转账）", "回乡时交本支部", "按季度转账交本支部")

# Where 流入 members' relationships are held, and where they live or work in the street.
HOMES = (
    "四川省巴中市某村党支部",
    "贵州省毕节市某社区党支部",
    "河南省周口市某村党支部",
    "湖南省邵阳市某镇机关党支部",
    "安徽省阜阳市某村党支部",
    "重庆市万州区某社区党支部",
    "江西省赣州市某村党支部",
    "甘肃省天水市某村党支部",
)
IN_PLACES = ("仓储部", "运输车队", "装卸班组", "生产车间", "项目部")  # a company's
IN_HOMES = ("幸福小区", "阳光小区", "锦绣家园", "康居小区")  # a community's

# (method, note): a search, step by step (条例第二十四条).
SEARCH_STEPS: tuple[tuple[str, str], ...] = (
    ("电话", "拨打本人手机两次，一次无人接听，一次已停机"),
    ("亲属", "走访其父母，称今年春节后未回家，只知在外地打工"),
    ("原单位", "联系其原务工企业，称已于去年离职，去向不明"),
    ("组织部门", "通过街道党工委向其原务工地党组织发函查询，尚未回复"),
)
RESTORED_STEPS: tuple[tuple[str, str], ...] = (
    ("电话", "拨打本人手机，提示号码已更换"),
    ("亲属", "联系其配偶，得知新手机号，已请其转告本人与支部联系"),
)
HANDLING = (
    "已取得联系，本人因更换手机号未及时告知支部。进行了谈心谈话和批评教育，补交了党费，"
    "明确每月与联系人联系一次"
)
DECISION = (
    "经支部党员大会讨论，认为其与党组织失去联系已超过6个月，经多方查找仍无法取得联系，"
    "决定停止其党籍，报上级党委备案"
)
OLD_DECISION = (
    "{day}支部党员大会讨论决定：其与党组织失去联系已超过6个月，经多方查找仍无法取得联系，"
    "停止其党籍，报上级党委备案"
)
