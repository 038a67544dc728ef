"""Which sentences of a unit answer the question, and where a quotation may begin and end.

Retrieval (`retrieval.py`) finds the unit; this module picks, inside it, the sentence that holds
the fact asked for.  A question says what kind of fact it wants — 多久 a frequency, 几项 a count,
哪一年 a date, 是什么 a definition or the text itself — and a sentence that holds that kind of fact
(每月, 五种, 1921年, “……”是…) is preferred among those that share the question's words.

A quotation is whole sentences of one paragraph: it never starts with a sentence that leans on
the one before it (它…, 这…, 但…), never stops at a colon that introduces what follows, and never
ends inside a sentence.  The short answer line is a clause of the chosen sentence, verbatim, so
nothing in a reply is written by us.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import Enum

QUOTE_MIN, QUOTE_MAX = 150, 300  # characters of a quotation built around the answer
SENTENCE_MAX = 420  # a longer single sentence is cut at a clause end (bodies are ≤ 800 chars)
LINE_MAX = 70  # an answer line longer than this is no shorter than the quotation itself


class Kind(Enum):
    """What a question asks for, judged from its wording."""

    FREQUENCY = "frequency"  # 多久开一次, 一年几次
    DURATION = "duration"  # 预备期多长, 多长时间
    COUNT = "count"  # 几项, 几种, 多少人
    LIST = "list"  # 哪几个, 哪些, 包括什么
    YEAR = "year"  # 哪一年
    DATE = "date"  # 什么时候, 哪天
    CLOCK = "clock"  # 几点开门
    NAMES = "names"  # 都有谁, 叫啥名字
    AMOUNT = "amount"  # 交多少, 百分之几
    AGE = "age"  # 多少岁
    NUMBER = "number"  # 电话多少
    EVENT = "event"  # 哪次会议提出的
    PURPOSE = "purpose"  # 党费用到哪去了
    WHO = "who"  # 谁来主持
    WHERE = "where"  # 在哪里开的
    DEFINITION = "definition"  # 是什么, 啥意思, 原文
    YES_NO = "yes_no"  # 能不能, 算不算
    OTHER = "other"


_NUM = r"[0-9０-９一二两三四五六七八九十百千半几]"
_FIGURE_NUM = r"[0-9０-９一二两三四五六七八九十百千半]"
# First match wins: 多久开一次 is a frequency, 多久 alone a duration.
_ASKS: list[tuple[Kind, re.Pattern[str]]] = [
    (Kind.AGE, re.compile(r"多少岁|几岁|多大年纪|多大岁数|年龄|年满")),
    (Kind.NUMBER, re.compile(r"电话|号码|热线|网址|邮箱")),
    (Kind.CLOCK, re.compile(r"(?<!哪)几点|几时[开关到]|营业时间|开放时间")),
    (
        Kind.FREQUENCY,
        re.compile(
            r"(多久|多长时间|多少时间|多少天|多就|隔多|几[天周月年]).{0,4}(一次|一回)|(?<!哪)几次|多少次|(?<!哪)几回|频率|多久开|多久交|多久搞|多久过|每.{0,3}几|"
            r"每个?(?:月|年|周|星期|季度)都"
        ),
    ),
    (
        Kind.AMOUNT,
        re.compile(
            r"交多少|多少钱|多少元|几块|多少块|百分之几|比例|交几|几个点|多少党费|党费.{0,4}多少|"
            r"[拿挣领赚]多少|(?:工资|补贴|报酬|慰问金).{0,6}多少"
        ),
    ),
    (Kind.YEAR, re.compile(r"哪一?年|几几年|年份|那一年")),
    (
        Kind.DATE,
        re.compile(
            r"哪天|哪一天|几月|几号|什么时候|啥时候|何时|什么时间|啥时间|几几年|日子|纪念日"
        ),
    ),
    (
        Kind.DURATION,
        re.compile(r"多久|多长|多少年|几年|几个月|多少个月|最长|期限|几天|多少天|几分钟|几小时"),
    ),
    (  # of people: 党叫啥名字, 处分分别叫啥 ask for a name, not for people
        Kind.NAMES,
        re.compile(
            r"都有谁|都是谁|分别是谁|有哪些人|姓名|(?:代表|人|同志|成员|委员|烈士|英雄)[^，。？]{0,6}(?:名字|叫啥|叫什么)"
        ),
    ),
    (Kind.LIST, re.compile(r"哪几|哪些|哪[一二三四五六七八九十两]|包括|分别|都有啥|有啥|都是啥")),
    (
        Kind.COUNT,
        re.compile(
            r"几项|几个|几种|几条|几类|几大|几方面|多少项|多少条|多少种|多少个|多少人|几名|几位|有几|多少名|多少"
        ),
    ),
    (
        Kind.PURPOSE,
        re.compile(
            r"用到哪|用在哪|用哪|干啥用|做什么用|干什么用|有什么用|有啥用|用途|花在哪|花到哪|花哪"
        ),
    ),
    (Kind.EVENT, re.compile(r"哪次|哪一次|哪个会|什么会|啥会|哪届")),
    (Kind.YES_NO, re.compile(r"是不是")),  # 是不是对谁都管: whether, not who
    (Kind.WHO, re.compile(r"谁|哪个人|什么人|哪位|哪些人")),
    (Kind.WHERE, re.compile(r"哪里|哪儿|在哪|什么地方|啥地方|地点|何地")),
    (
        Kind.YES_NO,
        re.compile(
            r"(\w)不\1|能不能|能否|可不可以|可以吗|行不行|行吗|算不算|算.{1,8}吗|要不要|需不需要|需要.{1,8}吗|是否|会不会|有没有|可以.{1,8}吗|能.{1,8}吗|得.{0,6}吗|允许|是不是|[要会该].{1,8}吗[？?]?$|[能违算].{0,6}不[？?]?$"
        ),
    ),
    (
        Kind.DEFINITION,
        re.compile(
            r"是什么|是啥|是个啥|是[一-龥]{1,3}(?:啥|什么)[？?]?$|是哪些|什么是|啥是|什么意思|啥意思|指什么|指啥|指的是|含义|内涵|原文|全文|怎么说|咋说|怎么念|咋念|怎么讲|咋讲|是怎样的|内容|有哪些|有啥|包括"
        ),
    ),
]

# What a sentence holding each kind of fact looks like.
_HOLDS: dict[Kind, re.Pattern[str]] = {
    Kind.FREQUENCY: re.compile(
        rf"每(?:个|两个|一个)?(?:月|季度|季|年|半年|周|星期|天)|按(?:月|季|年)|一年{_NUM}+次|"
        rf"至少{_NUM}+次|{_NUM}+次|定期|经常"
    ),
    Kind.DURATION: re.compile(rf"{_NUM}+(?:年|个月|天|日|周|小时)|{_NUM}+个?(?:半)?月"),
    Kind.COUNT: re.compile(  # 几个方面 is no count: 几 asks, it does not tell
        rf"(?<!第){_FIGURE_NUM}+(?:项|种|个|条|类|方面|名|位|人|点|步|服从|意识|自信|维护|确立|务必|里|公里|票)|"
        r"一共|共有"
    ),
    Kind.LIST: re.compile(
        r"[^、，。；]{1,14}、[^、，。；]{1,14}(?:、|和|及|以及)|分别是|包括|合称|指|一是|："
    ),
    Kind.EVENT: re.compile(
        r"[一二三四五六七八九十]+届[一二三四五六七八九十]+中全会|第[一二三四五六七八九十]+次全国代表大会|"
        r"[一-龥]{2}会议|[一二三四五六七八九十]+大(?:上|召开|通过|提出|报告)"
    ),
    Kind.YEAR: re.compile(r"[0-9０-９]{4}年"),
    Kind.PURPOSE: re.compile(r"用于|用途|用来|用在|作为[^，。]{0,10}(?:经费|补充)"),
    Kind.DATE: re.compile(
        r"党的[一二三四五六七八九十]+大|[一二三四五六七八九十]+届[一二三四五六七八九十]+中全会|"
        rf"[0-9０-９]{{4}}年|{_NUM}+月{_NUM}+日|年代|[0-9０-９]{{4}}—|[0-9０-９]{{4}}-|"
        r"每(?:周|月|年|季度)|周[一二三四五六日]|星期[一二三四五六日天]|[上下]午|年初|年底|年终"
    ),
    Kind.AMOUNT: re.compile(r"[0-9０-９.]+%|百分之|[0-9０-９.]+元|元至|比例"),
    Kind.AGE: re.compile(rf"{_NUM}+(?:周岁|岁)"),
    Kind.CLOCK: re.compile(rf"{_FIGURE_NUM}+[点时:：]|[上下]午|早上|晚上|全天"),
    Kind.NAMES: re.compile(r"[一-龥]{2,3}(?:、[一-龥]{2,3}){2,}"),  # 李达、李汉俊、张国焘
    Kind.NUMBER: re.compile(r"[0-9０-９]{5,}|www\.|@"),
    Kind.WHO: re.compile(r"由|书记|负责|主持|召集|指定|推荐|选举|讲授|主讲"),
    Kind.WHERE: re.compile(  # where it happened; where one goes or belongs (向…党组织提出)
        r"在[^，。]{1,24}(?:召开|举行|开幕|闭幕|成立|举办|提出|确立|进行)|"
        r"[^，。]{2,8}(?:省|市|县|镇|湖|会址|红船|改编)|"
        r"[向到在][^，。]{1,16}(?:党组织|党委|党支部|支部|社区|街道|党群服务中心|窗口)|编入|纳入"
    ),
    Kind.YES_NO: re.compile(
        r"可以|不得|不能|不准|应当|应该|必须|禁止|严禁|属于|不属于|不需要|需要|允许|有权|无权|没有|"
        r"不[收拿要转]"
    ),
    Kind.DEFINITION: re.compile(
        r"是指|就是|指的是|合称|简称|即|概括为|主要包括|内容是|是[^，。；]{2,}的"
    ),
}

# A sentence opening with one of these leans on the sentence before it.
_LEANS = re.compile(
    r"^(?:它|它们|这|这些|这个|这一|这样|这条|这项|这种|这是|那|其|此|该|上述|前者|后者|"
    r"但|但是|而|而且|并且|同时|因此|所以|于是|可见|也|还|另外|此外|再者|对此|对于这|为此|"
    r"第[二三四五六七八九十]|其次|然后|最后|二是|三是|四是|五是|[前后][一二两三四五六七八九十])"
)
_DEFINES = re.compile(r"(?:是|就是|指|即|为|的合称|合称|简称|包括|：|.{1,4}?(?:是|为)[：“])")
_QUOTED = re.compile(r"“[^”]{20,}”")
_FIRST_ITEM = re.compile(r"^(?:一是|首先|第一[，、：]|（一）|\(一\)|1[.、．])")
_ITEM = re.compile(
    r"^(?:[一二三四五六七八九十]是|第[一二三四五六七八九十]项?[，、：是]|（[一二三四五六七八九十]）|\d[.、．])"
)
LIST_HEADS = (
    70  # characters past QUOTE_MAX for the rest of a list, item by item (QUOTE_TWO bounds all)
)
_SENTENCE = re.compile(r"[^。！？!?]+(?:[。！？!?]+[”’」』）)]*|$)")
_COMMA_CLAUSE = re.compile(r"[^，,；;：:。！？!?]+[，,；;：:。！？!?]*[”’」』）)]*")
_CLAUSE = re.compile(r"[^；;。！？!?]+[；;。！？!?]*[”’」』）)]*")


# Kinds whose facts have a shape (a number, a date, a frequency): a line offered as the answer
# must hold one.
CRISP = frozenset(
    {Kind.FREQUENCY, Kind.DURATION, Kind.COUNT, Kind.YEAR, Kind.DATE, Kind.AMOUNT, Kind.AGE}
    | {Kind.NUMBER, Kind.EVENT}
)
# Kinds a foreseen ask must share to be taken as the question: 三会一课是哪几个会 (a list) is not
# 一课是啥 (what one of them is).
MATCHED = CRISP | {Kind.LIST}
# Kinds whose answer is most often where a unit opens: what a thing is, what it consists of.
# Not a question of how or whether (外地回不去谈心咋谈, 党员大会上有我的份吗): its answer is
# the sentence holding its words, often far from the unit's introduction.
OPENING = frozenset({Kind.DEFINITION, Kind.LIST})
# Kinds whose answer, asked of 最近 or 下个月, is news or the branch's own calendar; not an
# amount (今年党费交多少: the rates hold) nor whether one may (今年还要交党费吗).
LOCAL_KINDS = frozenset(Kind) - {Kind.AMOUNT, Kind.YES_NO}
# Kinds a unit answers only if one of its sentences holds that kind of fact.
# 支部委员会几年换一次届, 公开栏几天更新一次, 活动证在哪办: a unit about the subject that gives
# no span, no frequency, no place answers nothing — quoting it would pass for the answer.
CHECKED = frozenset(
    {Kind.YEAR, Kind.AMOUNT, Kind.AGE, Kind.NUMBER, Kind.COUNT, Kind.PURPOSE, Kind.CLOCK}
    | {Kind.NAMES}
    | {Kind.DURATION, Kind.FREQUENCY, Kind.WHERE}
)
# What a short answer line must hold, by kind: stricter than what makes a sentence likely (a
# bare 一次 or 经常 is no frequency, 第十二条 no count, 2021年 no duration).
_NOT_AFTER = r"(?<![第前后头末0-9０-９一二两三四五六七八九十百千])"  # 第十二条, 后四项
_LINE_HOLDS: dict[Kind, re.Pattern[str]] = {
    Kind.FREQUENCY: re.compile(
        rf"每(?:个|两个)?(?:月|季度|季|年|半年|周|星期)|按(?:月|季|年)|一年{_NUM}+次|至少{_NUM}+次"
    ),
    Kind.DURATION: re.compile(rf"{_NOT_AFTER}{_NUM}{{1,3}}(?:年|个月|天|周|小时)(?!\d)"),
    Kind.COUNT: re.compile(rf"{_NOT_AFTER}{_NUM}+(?:个|名|位)?[一-龥]"),
    Kind.YEAR: re.compile(r"[0-9０-９]{4}年"),
    Kind.DATE: re.compile(rf"[0-9０-９]{{4}}年|{_NUM}+月{_NUM}+日"),
    Kind.AMOUNT: re.compile(r"[0-9０-９.]+%|百分之[零一二三四五六七八九十点]+|[0-9０-９.]+元"),
    Kind.AGE: re.compile(rf"{_NUM}+(?:周岁|岁)"),
}
LINE_REACH = 12  # characters between the fact and the name of what was asked about
_FIGURE = re.compile(r"[0-9０-９]|[一二两三四五六七八九十几][千万]")
_RATE = re.compile(r"%|百分之")
_ASKED_UNIT = re.compile(r"(?:多少|几)(?:个)?([一-龥])")


def _asked_unit(question: str) -> str | None:
    """The measure a count question names: 项 of 几项, 户 of 多少户, 阶 of 几个阶段."""
    found = _ASKED_UNIT.search(question)
    return found.group(1) if found and found.group(1) not in "么时久岁钱" else None


def states(kind: Kind, text: str, words: list[str], question: str) -> bool:
    """`text` (a unit's quiz explanation, say) plainly states the fact asked for, as an answer
    line must: in the shape asked for, right by the name of what was asked about."""
    pattern = _LINE_HOLDS.get(kind)
    return bool(
        pattern
        and _states(pattern, _asked_unit(question), text)
        and near(kind, text, words, reach=LINE_REACH, pattern=pattern)
    )


def _states(pattern: re.Pattern[str], unit: str | None, clause: str) -> bool:
    clause = clause.rstrip("，,；;：:")
    if unit is None or pattern is not _LINE_HOLDS[Kind.COUNT]:
        return bool(pattern.search(clause))
    return bool(re.search(rf"{_NOT_AFTER}{_NUM}+(?:个|名|位)?{unit}", clause))


# Kinds that answer each other: 党啥时候成立的 (when) is answered by 1921年 (which year).
_ALIKE = ({Kind.YEAR, Kind.DATE, Kind.EVENT}, {Kind.COUNT, Kind.LIST})


def alike(asked: Kind, foreseen: Kind) -> bool:
    return asked is foreseen or any(asked in group and foreseen in group for group in _ALIKE)


def kind_of(question: str) -> Kind:
    for kind, pattern in _ASKS:
        if pattern.search(question):
            return kind
    return Kind.OTHER


_QUOTES = re.compile(r"[“\"「『‘']([^”\"」』’']{2,20})[”\"」』’']")


def quoted(question: str) -> list[str]:
    """The words a question quotes from the text: “吃苦在前”."""
    return _QUOTES.findall(question)


def holds(kind: Kind, sentence: str) -> bool:
    pattern = _HOLDS.get(kind)
    return bool(pattern and pattern.search(sentence))


_PEOPLE = re.compile(  # not 五位一体
    rf"{_FIGURE_NUM}+(?:多|余)?(?:万|千|百)?(?:人|名|位(?!一体))|半数|过半|三分之二|多数"
)


_SPAN_ASKED = re.compile(r"(?:几|多少)(?:个)?(年|月|天|日|周|星期|小时|分钟)")
_SPAN_SAID = {"年": "年", "月": "个?月", "天": "[天日]", "日": "[天日]", "周": "(?:周|星期)"}
_TIMES_ASKED = re.compile(r"(?<!哪)(?:几|多少)[次回]")
# Measures a count names that no other count stands in for (not 个, 项, 条: 几条 is answered by
# 八项规定's list as well).
_MEASURE_ASKED = re.compile(r"(?:几|多少)(?:个)?(课时|学时|字|小时|分钟|户|人次)")
_FEW = rf"(?<![0-9０-９]){_FIGURE_NUM}{{1,3}}(?:多|余)?"  # 3, 十五: not the year 1978


def _gives(measure: str, sentence: str) -> bool:
    return bool(re.search(rf"{_FEW}(?:个)?(?:半)?{measure}", sentence))


def holds_asked(kind: Kind, sentence: str, question: str) -> bool:
    """`holds`, and more where the question names its measure: a count of people (多少人, 几名)
    only from a sentence counting people (13名, 半数以上), not 四个方面; a span or a count in the
    measure asked for (几年: 3年, not 6个月 nor 1978年; 多少课时: 32课时); how many times (几次)
    from a number of times, not 经常; 几天一次 from 每天 or 3天, not 定期."""
    measure = _asked_unit(question)
    if kind is Kind.COUNT and measure in ("人", "名", "位"):
        return bool(_PEOPLE.search(sentence))
    if kind in (Kind.COUNT, Kind.DURATION) and (named := _MEASURE_ASKED.search(question)):
        return _gives(named.group(1), sentence)
    span = _SPAN_ASKED.search(question)
    if kind is Kind.DURATION and span:
        return _gives(_SPAN_SAID.get(span.group(1), span.group(1)), sentence)
    if kind is Kind.FREQUENCY and _TIMES_ASKED.search(question):
        return _gives("[次回]", sentence)
    if kind is Kind.FREQUENCY and span:
        said = _SPAN_SAID.get(span.group(1), span.group(1))
        return _gives(said, sentence) or bool(re.search(rf"每个?{said}", sentence))
    return holds(kind, sentence)


def leans_back(sentence: str) -> bool:
    return bool(_LEANS.match(sentence.lstrip("“（(")))


def plain(line: str) -> str:
    """A line of a unit as the reader sees it: Markdown links, marks and list bullets gone."""
    line = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", line)
    line = re.sub(r"^\s*(?:#{1,6}|>|[-*+]|\d+[.)])\s+", "", line)
    return re.sub(r"[*_`]+", "", line).strip()


def sentences(paragraph: str) -> Iterator[str]:
    """Whole sentences (to 。！？ and any closing quote); a run-on one is cut at clause ends."""
    for sentence in _SENTENCE.findall(paragraph):
        if not sentence.strip():
            continue
        if len(sentence) <= SENTENCE_MAX:
            yield sentence
            continue
        piece = ""
        for clause in _CLAUSE.findall(sentence):
            if piece and len(piece) + len(clause) > SENTENCE_MAX:
                yield piece
                piece = ""
            piece += clause
        if piece:
            yield piece


def split(body: str) -> list[list[str]]:
    """The body as paragraphs of sentences, as the reader sees them (blank lines dropped)."""
    paragraphs = (plain(line) for line in body.splitlines())
    return [list(sentences(p)) for p in paragraphs if p]


Span = list[tuple[int, int]]  # (paragraph, sentence) of the quoted sentences, in order


def window(paragraphs: list[list[str]], paragraph: int, position: int) -> str:
    """The quotation around sentence `position` of `paragraph` (see `span`)."""
    return render(paragraphs, span(paragraphs, paragraph, position))


def span(paragraphs: list[list[str]], paragraph: int, position: int) -> Span:
    """The sentences quoted around sentence `position` of `paragraph`: from where the thought
    starts (backing over sentences that lean on the one before), on to QUOTE_MIN within the
    paragraph, and past a closing colon into the next paragraph (the list or text it
    introduces)."""
    current = paragraphs[paragraph]
    start = position
    while (
        start > 0
        and leans_back(current[start])
        and _length(current[start - 1 : position + 1]) <= QUOTE_MAX
    ):
        start -= 1
    end = position + 1
    while end < len(current) and _length(current[start:end]) < QUOTE_MIN:
        if _length(current[start : end + 1]) > QUOTE_MAX:
            break
        end += 1
    while end < len(current) and current[end - 1].rstrip("”’」』）)").endswith(("：", ":")):
        if _length(current[start : end + 1]) > QUOTE_MAX:
            break
        end += 1
    while start > 0 and end == len(current) and _length(current[start:end]) < QUOTE_MIN:
        if _length(current[start - 1 : end]) > QUOTE_MAX or leans_back(current[start - 1]):
            break
        start -= 1  # the paragraph's last sentence, short: what comes before it is its context
    found = [(paragraph, n) for n in range(start, end)]
    length = _length(current[start:end])
    if start == 0 and paragraph > 0 and _FIRST_ITEM.match(current[0]):
        # "一是年龄：年满十八岁。" opens a list: the sentence that introduces it comes first.
        intro = len(paragraphs[paragraph - 1]) - 1
        if len(paragraphs[paragraph - 1][intro]) + length <= QUOTE_MAX:
            found.insert(0, (paragraph - 1, intro))
            length += len(paragraphs[paragraph - 1][intro])
    follows = paragraph + 1
    # "入党誓词是：" / "结果有三种：" — the next paragraph (or list item) is the answer itself;
    # and a quotation still too short to read on its own runs on into the next paragraph.
    while follows < len(paragraphs) and (
        current[end - 1].rstrip().endswith(("：", ":")) or length < QUOTE_MIN
    ):
        following = paragraphs[follows]
        if length + _length(following) > QUOTE_MAX:
            break
        found.extend((follows, n) for n in range(len(following)))
        length += _length(following)
        current, end = following, len(following)
        follows += 1
    # A list begun is quoted to its end — the items that do not fit whole by their first
    # sentence (二是办事不公。三是漠视群众。): 有哪几类 asks for every one.
    while (
        follows < len(paragraphs)
        and _ITEM.match(paragraphs[follows - 1][0])
        and _ITEM.match(paragraphs[follows][0])
    ):
        following = paragraphs[follows]
        whole = _length(following)
        if length + whole <= QUOTE_MAX:
            found.extend((follows, n) for n in range(len(following)))
            length += whole
        elif length + len(following[0]) <= QUOTE_MAX + LIST_HEADS:
            found.append((follows, 0))
            length += len(following[0])
        else:
            break
        follows += 1
    return found


def render(paragraphs: list[list[str]], sentences: Span) -> str:
    """The quoted sentences as the member reads them: a line per paragraph, in the unit's
    order, each sentence once."""
    lines: dict[int, list[int]] = {}
    for p, n in sorted(set(sentences)):
        lines.setdefault(p, []).append(n)
    out: list[str] = []
    for p, numbers in lines.items():
        runs: list[list[int]] = []
        run = [numbers[0]]
        for n in numbers[1:]:
            if n == run[-1] + 1:
                run.append(n)
            else:
                runs.append(run)
                run = [n]
        runs.append(run)
        out.extend("".join(paragraphs[p][n] for n in r) for r in runs)
    return "\n".join(out)


def answer_line(kind: Kind, sentence: str, words: list[str], question: str = "") -> str | None:
    """The clause of `sentence` that states the fact asked for, verbatim; None unless it is
    plainly that fact: it names what was asked about, holds the fact in the shape asked for
    (每月, 一年, 1921年, 0.5%, 十八岁; with the unit of 几项/多少户 when the question names one),
    the fact sits right by the name, and it is shorter than the sentence.  A wrong short answer
    is worse than none: the quotation is always there.

    A clause runs between commas; when the one holding the fact does not name what was asked
    about (一般每月召开1次), the clauses before it are taken in until one does."""
    pattern = _LINE_HOLDS.get(kind)
    if pattern is None:
        return None  # a definition, a list or a yes/no is the quotation itself
    if kind is Kind.AMOUNT and _FIGURE.search(question):
        return None  # 工资一万多交多少: the bracket is for the quotation (or 算党费) to show
    unit = _asked_unit(question)
    clauses = [c for c in _COMMA_CLAUSE.findall(sentence) if c.strip()]
    fitting = [n for n, c in enumerate(clauses) if _states(pattern, unit, c)]
    if not fitting or len(clauses) == 1:
        return None
    best = max(fitting, key=lambda n: (sum(w in clauses[n] for w in words), -n))
    start = best
    while start > 0 and not any(w in clauses[start] for w in words):
        if clauses[start - 1].rstrip().endswith(("；", ";", "。", "：", ":")):
            break  # the clause before is another statement, or a label (怎样交：)
        start -= 1
    end = best + 1
    # "1921年7月23日，中国共产党第一次全国代表大会…开幕": a bare date or number takes in the
    # clause after it that says what it is the date or number of.
    if not any(w in "".join(clauses[start:end]) for w in words) and end < len(clauses):
        if not clauses[best].rstrip().endswith(("；", ";", "。")) and any(
            w in clauses[end] for w in words
        ):
            end += 1
    while kind is Kind.AMOUNT and end < len(clauses) and not _RATE.search("".join(clauses[:end])):
        end += 1  # "3000元以下（含3000元）的，按0.5%交纳党费": the bracket is not yet the rate
    line = "".join(clauses[start:end]).strip().rstrip("；;，,：:")
    if leans_back(line) or len(line) > LINE_MAX or len(line) >= len(sentence.strip()) - 2:
        return None
    if not near(kind, line, words, reach=LINE_REACH, pattern=pattern):
        return None  # the number is there, but not what was asked about
    if not line.endswith(("。", "！", "？", "”", "）")):
        line += "。"
    return line


def _length(run: list[str]) -> int:
    return sum(len(s) for s in run)


def defines(sentence: str, words: list[str]) -> bool:
    """The sentence says what one of the question's words is: X是…, “X”指…, X即…, …的合称, or
    X全文是：“…” (the word, or its last two characters: 誓词 for 入党誓词)."""
    for word in words:
        for name in dict.fromkeys((word, word[-2:] if len(word) > 2 else word)):
            at = sentence.find(name)
            while at >= 0:
                after = sentence[at + len(name) : at + len(name) + 8].lstrip("”」’）)，,")
                if _DEFINES.match(after):
                    return True
                at = sentence.find(name, at + 1)
    return "合称" in sentence


def quotes_text(sentence: str) -> bool:
    """The sentence quotes a text at length: the oath, a formula, an article."""
    return bool(_QUOTED.search(sentence))


def near(
    kind: Kind,
    sentence: str,
    words: list[str],
    reach: int = 8,
    pattern: re.Pattern[str] | None = None,
) -> bool:
    """The fact sits right by what was asked about: 预备期为一年, not 延长预备期，但不能超过一年."""
    pattern = pattern or _HOLDS.get(kind)
    if pattern is None:
        return False
    facts = [m.start() for m in pattern.finditer(sentence)]
    for word in words:
        at = sentence.find(word)
        while at >= 0:
            end = at + len(word)
            if any(end <= f <= end + reach or at - reach <= f < at for f in facts):
                return True
            at = sentence.find(word, at + 1)
    return False
