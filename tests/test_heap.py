"""The server's collector settings: start-up's objects frozen, young passes rarer."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import socket
from collections.abc import Callable, Iterator

import pytest

from server import heap, serving
from server.settings import Settings


@pytest.fixture
def restored() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


def test_once_started_the_server_freezes_what_start_up_built(restored: None) -> None:
    built = [{"kept": n} for n in range(1000)]  # what start-up made and keeps
    heap.settle()
    assert gc.get_freeze_count() >= len(built)
    assert gc.get_threshold() == (heap.YOUNG, heap.OLDER, heap.OLDER)


async def test_the_server_settles_its_heap_once_it_listens(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Settled after start-up, not before: what the app builds as it starts is frozen too."""
    seen: list[int] = []

    def settled() -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            seen.append(port)  # it was already listening
        os.kill(os.getpid(), signal.SIGINT)  # and now stop it, as Ctrl-C does

    monkeypatch.setattr(serving, "settle", settled)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = make_settings(host="127.0.0.1", port=port, scheduler=False)
    await asyncio.wait_for(serving.serve(settings), timeout=30)
    assert seen == [port]
