"""The layers stay honest: transports (chat handlers, the API, the dashboard, the scheduler) →
services → models; `server/wechat/` is the WeChat protocol only.

Read from the source with `ast`, so an import inside a function counts as much as one at the
top.  A failure names the file, the line and the import that crosses a layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
TRANSPORTS = ["handlers", "server.api", "server.admin", "server.dispatch", "server.chat_cli"]

# (package, what it must not import)
RULES: list[tuple[str, list[str]]] = [
    # What is stored knows nothing of what uses it.
    ("server/models", ["server.services", "server.wechat", "scheduler", "aiohttp", *TRANSPORTS]),
    # The domain: no HTTP, no chat, no WeChat client, no scheduler — it is handed what it sends
    # through (`services/delivery/messenger.py`).
    ("server/services", ["server.wechat", "scheduler", "aiohttp", *TRANSPORTS]),
    # The protocol: signatures, crypto, message parsing, the API client, the fake.
    ("server/wechat", ["server.models", "server.services", "tortoise", "scheduler", *TRANSPORTS]),
    # Transports wake the outbox and send through what the app factory hands them.
    ("handlers", ["scheduler", "server.wechat.client", "server.api", "server.admin"]),
    ("server/api", ["scheduler", "handlers", "server.admin"]),
    ("server/admin", ["scheduler", "handlers", "server.api"]),
    # The study corpus is a library: it reads units and answers from them, nothing more.
    ("study_content", ["server.models", "server.services", "scheduler", *TRANSPORTS]),
]


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module))
            # `from server import llm` imports the module server.llm
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _crossing(package: str, banned: list[str]) -> list[str]:
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, module in _imports(path):
            if any(module == b or module.startswith(b + ".") for b in banned):
                bad.append(f"{path.relative_to(ROOT)}:{line}: {module}")
    return sorted(set(bad))


@pytest.mark.parametrize(("package", "banned"), RULES, ids=[r[0] for r in RULES])
def test_a_layer_imports_nothing_above_it(package: str, banned: list[str]) -> None:
    assert _crossing(package, banned) == []


def test_chat_features_do_not_import_each_other() -> None:
    """One feature per module: what two features share lives in handlers/common.py."""
    bad = []
    for path in sorted((ROOT / "handlers").glob("*.py")):
        if path.name == "__init__.py":
            continue
        for line, module in _imports(path):
            if module.startswith("handlers.") and module.split(".")[1] != "common":
                bad.append(f"{path.name}:{line}: {module}")
    assert bad == []


def test_the_rule_sees_a_crossing(tmp_path: Path) -> None:
    """The check itself: an import inside a function, of a banned package, is found."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text("def f():\n    from scheduler.runner import poke\n")
    assert _imports(tmp_path / "pkg" / "m.py") == [
        (2, "scheduler.runner"),
        (2, "scheduler.runner.poke"),
    ]
