"""The study corpus: the shipped units are valid and cover the ground; bad units are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.cli import main
from study_content.corpus import SHIPPED, CorpusInvalid, body_length, load_corpus

GOOD_BODY = "党章学习。" * 80  # 400 characters
CORE = "习近平总书记党中央的核心、全党的核心地位"
THOUGHT = "习近平新时代中国特色社会主义思想"
ESTABLISHES = f"确立习近平同志党中央的核心、全党的核心地位，确立{THOUGHT}的指导地位"

QUESTION = """
[[questions]]
question = "问题{n}？"
choices = ["甲", "乙", "丙", "丁"]
answer = "B"
explanation = "因为乙。"
"""


def unit_file(
    folder: Path,
    name: str,
    *,
    uid: str | None = None,
    body: str = GOOD_BODY,
    questions: int = 2,
    extra: str = "",
    front: str | None = None,
) -> Path:
    uid = uid or name
    meta = (
        front
        if front is not None
        else (
            f'id = "{uid}"\ntitle = "标题"\ntags = ["党章"]\nsource = "《中国共产党章程》"\n{extra}'
            + "".join(QUESTION.format(n=n) for n in range(questions))
        )
    )
    path = folder / f"{name}.md"
    path.write_text(f"+++\n{meta}\n+++\n{body}\n", encoding="utf-8")
    return path


def test_the_shipped_corpus_is_valid_and_covers_the_ground() -> None:
    units = load_corpus(SHIPPED)
    assert len(units) >= 60
    tags = {tag for unit in units for tag in unit.tags}
    for topic in ("党章", "组织生活", "党史", "纪律与理论", "社区党建"):
        assert topic in tags, topic
    for unit in units:
        assert 300 <= body_length(unit.body) <= 800, unit.id
        assert 2 <= len(unit.questions) <= 3, unit.id
    answers = {q.answer for unit in units for q in unit.questions}
    assert answers >= {"A", "B", "C", "D"}  # not always the same letter


def test_a_valid_unit_loads(tmp_path: Path) -> None:
    unit_file(tmp_path, "ok-unit")
    [unit] = load_corpus(tmp_path)
    assert unit.id == "ok-unit" and unit.questions[0].choices[1] == "乙"


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"body": "太短"}, "body has"),
        ({"body": "长" * 900}, "body has"),
        ({"questions": 1}, "2 or 3"),
        ({"questions": 4}, "2 or 3"),
        ({"uid": "Bad ID"}, "id must be"),
        ({"front": 'id = "x1"\ntitle = "t"'}, "source is missing"),
        ({"front": "id = 'unterminated"}, "not valid TOML"),
        ({"body": "大会选举习近平为总书记。" + GOOD_BODY}, "without 同志 or his title"),
        ({"body": "习近平同志指出，习近平新时代中国特色社会主义思想。" + GOOD_BODY}, None),
        # Standard formulas whole (study_content/STYLE.md): a hostile example, then a good one.
        ({"body": "核心意识，就是维护党中央的核心地位。" + GOOD_BODY}, "shortens"),
        ({"body": "两个维护指维护习近平总书记的核心地位。" + GOOD_BODY}, "shortens"),
        ({"body": f"坚决维护{CORE}，坚决维护党中央权威和集中统一领导。{GOOD_BODY}"}, None),
        ({"body": "两个确立即确立核心地位和确立指导地位。" + GOOD_BODY}, "shortens"),
        ({"body": f"{ESTABLISHES}。{GOOD_BODY}"}, None),
        ({"body": "党的建设必须坚决实现五项基本要求。" + GOOD_BODY}, "six basic requirements"),
        ({"body": "党章总纲规定了党的建设六项基本要求。" + GOOD_BODY}, None),
        ({"body": "发展党员工作有三项基本要求。" + GOOD_BODY}, None),  # not Party building
        ({"body": f"{THOUGHT}系统回答了新时代的重大课题。{GOOD_BODY}"}, "科学回答了"),
        ({"body": f"{THOUGHT}科学回答了新时代的重大课题。{GOOD_BODY}"}, None),
        ({"body": "《中国共产党纪律处分条例》第三条要求增强“四个意识”。" + GOOD_BODY}, "第三条"),
        ({"body": "《中国共产党纪律处分条例》第二条要求做到“两个维护”。" + GOOD_BODY}, None),
        ({"body": "纪律处分条例第三条规定，党章是最根本的党内法规。" + GOOD_BODY}, None),
        ({"body": "条例第十章的工作纪律包括只表态不落实。" + GOOD_BODY}, "只表态不落实"),
        ({"body": "条例第十章的工作纪律包括层层加码、过度留痕。" + GOOD_BODY}, None),
        ({"body": GOOD_BODY + "\n\n它的主要内容是这样的。"}, "opens with a word"),
        ({"body": GOOD_BODY + "\n\n这三条线织成一张网。"}, "opens with a word"),
        ({"body": GOOD_BODY + "\n\n规定的主要内容是这样的。\n\n其实不难。"}, None),
        ({"body": "支部每月公布党员学习积分排名。" + GOOD_BODY}, "ranks members"),
        ({"body": "要求党员必须每天打卡。" + GOOD_BODY}, "ranks members"),
        ({"body": "支部不搞积分排名，也不强制打卡。" + GOOD_BODY}, None),
        ({"extra": ""}, None),
    ],
)
def test_each_problem_is_reported_with_its_file(
    tmp_path: Path, kwargs: dict[str, object], expected: str | None
) -> None:
    path = unit_file(tmp_path, "unit-under-test", **kwargs)  # type: ignore[arg-type]
    if expected is None:
        assert load_corpus(tmp_path)
        return
    with pytest.raises(CorpusInvalid) as err:
        load_corpus(tmp_path)
    assert str(path) in str(err.value) and expected in str(err.value)


def test_a_quiz_may_name_a_wrong_practice_among_its_choices(tmp_path: Path) -> None:
    wrong = QUESTION.format(n=1).replace('"甲"', '"每月公布积分排名"')
    front = 'id = "quiz-ok"\ntitle = "t"\ntags = ["党章"]\nsource = "《党章》"\n' + wrong * 2
    unit_file(tmp_path, "quiz-ok", front=front)
    assert load_corpus(tmp_path)


def test_malformed_questions_are_reported(tmp_path: Path) -> None:
    bad = QUESTION.format(n=9).replace('answer = "B"', 'answer = "E"')
    unit_file(
        tmp_path,
        "bad-answer",
        front=(
            'id = "bad-answer"\ntitle = "t"\ntags = ["党章"]\nsource = "《党章》"\n'
            + QUESTION.format(n=1)
            + bad
        ),
    )
    with pytest.raises(CorpusInvalid) as err:
        load_corpus(tmp_path)
    assert "question 2: answer must be one of ABCD" in str(err.value)


def test_a_file_without_front_matter_is_reported(tmp_path: Path) -> None:
    (tmp_path / "plain.md").write_text("只是正文", encoding="utf-8")
    with pytest.raises(CorpusInvalid) as err:
        load_corpus(tmp_path)
    assert "no front matter" in str(err.value)


def test_duplicate_ids_across_folders_are_reported(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    unit_file(tmp_path / "a", "same-id")
    second = unit_file(tmp_path / "b", "same-id")
    with pytest.raises(CorpusInvalid) as err:
        load_corpus(tmp_path / "a", tmp_path / "b")
    assert f"{second}: duplicate id 'same-id'" in str(err.value)


def test_content_check_reports_every_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DANGJIAN_CONTENT_DIR", str(tmp_path))
    unit_file(tmp_path, "short-one", body="短")
    unit_file(tmp_path, "party-nature")  # clashes with a shipped unit's id
    assert main(["content", "check"]) == 1
    err = capsys.readouterr().err
    assert "short-one.md: body has" in err and "duplicate id 'party-nature'" in err


def test_content_check_passes_on_a_good_branch_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DANGJIAN_CONTENT_DIR", str(tmp_path))
    unit_file(tmp_path, "branch-own-unit")
    assert main(["content", "check"]) == 0
    assert "study units OK" in capsys.readouterr().out


async def test_the_server_refuses_to_start_on_an_invalid_corpus(
    make_settings, tmp_path: Path
) -> None:
    from aiohttp import web

    from server.app import create_app

    folder = tmp_path / "branch-units"
    folder.mkdir()
    unit_file(folder, "broken", questions=0)
    runner = web.AppRunner(create_app(make_settings(content_dir=folder)))
    with pytest.raises(CorpusInvalid) as err:
        await runner.setup()
    await runner.cleanup()
    assert "broken.md: needs 2 or 3" in str(err.value)
