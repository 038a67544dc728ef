"""How fast is question answering?  A corpus ten times the shipped one, indexed, then asked.

    /work/venv/bin/python bench/qa.py [--multiplier 10] [--queries 1000]

The shipped units are copied under new ids until the corpus is MULTIPLIER times its size; each
copy rotates its paragraphs and swaps a few everyday words, so copies share vocabulary (as
branch-written units will) without being exact duplicates.  Reported:
  jieba     loading the tokenizer's dictionary, once per process (not part of the build);
  build     `CorpusIndex.build` over the whole corpus;
  search    `search()` for QUESTIONS (50 questions, most answerable, some not) cycled to
            QUERIES calls after a short warm-up: p50/p95/p99/max in ms.
The exit status is 0 whether or not the target (p95 < 20 ms) is met: this is a measurement.
`run()` returns the figures for other benchmark scripts.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from collections.abc import Sequence

from study_content.corpus import SHIPPED, Unit, load_corpus
from study_content.retrieval import CorpusIndex, passages
from study_content.words import analyse

MAX_P95_MS = 20.0
WARMUP = 50
# Everyday words a branch might say differently; copy k swaps pair k (and keeps the rest).
SWAPS = [
    ("社区", "村"),
    ("居民", "群众"),
    ("网格", "片区"),
    ("支部", "党支部"),
    ("老党员", "老同志"),
]
QUESTIONS = [
    "党费怎么交，每个月交多少",
    "咱们党到底是个什么性质的党",
    "党的根本宗旨是啥",
    "当了党员要尽哪些义务",
    "作为一名党员我有哪些权利",
    "我想入党，要走哪些流程",
    "年满多少岁才能申请入党",
    "入党宣誓的誓词原文是什么",
    "预备党员要考察多长时间才能转正",
    "党龄从哪天开始算",
    "三会一课指的是哪几个会",
    "支委会多久开一次",
    "主题党日一般每个月搞几次，都干些啥",
    "组织生活会一年开几次，要准备什么",
    "民主评议党员是怎么个评法",
    "支部书记每年要和党员谈心吗",
    "党支部的基本任务有哪些",
    "正式党员不到三个人能不能成立支部",
    "党员大会表决要多少人同意才算通过",
    "党的一大是在哪里开的",
    "遵义会议为什么说是转折点",
    "改革开放是从哪次会议开始的",
    "四个意识具体指哪四个",
    "四个自信包括什么",
    "两个维护的内容是什么",
    "党纪处分有几种",
    "收了居民送的购物卡算违纪吗",
    "网格党小组平时主要干什么",
    "在职党员去社区双报到要转组织关系吗",
    "四单制是怎么运作的",
    "五星支部评的是哪五个方面",
    "星级党员是怎么评出来的",
    "出去打工半年以上组织关系怎么办",
    "民主集中制的四个服从是啥",
    "八项规定是哪八项",
    "党课应该由谁来讲",
    "十九大说的社会主要矛盾是什么",
    "老党员行动不便，支部怎么关心",
    "发现有党员违纪，我可以向哪里举报",
    "党员可以信仰宗教吗",
    "流动党员在外地怎么过组织生活",
    "网格长和网格党小组什么关系",
    # Not answerable: they must cost no more than the rest.
    "今天天气怎么样",
    "红烧肉怎么做",
    "股票推荐",
    "帮我写一首诗",
    "附近有什么好吃的",
    "<script>alert(1)</script>",
    "'; DROP TABLE member; --",
    "😀😀🎉",
]


def varied(unit: Unit, k: int) -> Unit:
    """Copy k of a unit: paragraphs rotated by k, one pair of everyday words swapped."""
    paragraphs = [p for p in unit.body.split("\n\n") if p.strip()]
    shift = k % len(paragraphs)
    body = "\n\n".join(paragraphs[shift:] + paragraphs[:shift])
    old, new = SWAPS[k % len(SWAPS)]
    return dataclasses.replace(
        unit, id=f"{unit.id}-copy{k}", title=f"{unit.title}（{k}）", body=body.replace(old, new)
    )


def corpus_of(multiplier: int) -> list[Unit]:
    shipped = load_corpus(SHIPPED)
    return [unit if k == 0 else varied(unit, k) for k in range(multiplier) for unit in shipped]


def percentile(sorted_ms: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile: the value at or below which pct % of the samples fall."""
    rank = max(1, -(-len(sorted_ms) * pct // 100))  # ceiling without floats
    return sorted_ms[int(rank) - 1]


def run(multiplier: int = 10, queries: int = 1000) -> dict[str, float]:
    """Build the enlarged corpus's index and time `queries` searches; the figures, in s and ms."""
    start = time.perf_counter()
    analyse("三会一课")  # loads jieba's dictionary, which every process pays once
    jieba_s = time.perf_counter() - start
    corpus = corpus_of(multiplier)
    start = time.perf_counter()
    index = CorpusIndex.build(corpus)
    build_s = time.perf_counter() - start
    for question in QUESTIONS[:WARMUP]:
        index.search(question)
    latencies: list[float] = []
    answered = 0
    for n in range(queries):
        question = QUESTIONS[n % len(QUESTIONS)]
        start = time.perf_counter()
        found = index.search(question)
        latencies.append((time.perf_counter() - start) * 1000)
        answered += bool(found)
    ordered = sorted(latencies)
    return {
        "units": float(len(corpus)),
        "passages": float(sum(len(passages(unit.body)) for unit in corpus)),
        "jieba_s": jieba_s,
        "build_s": build_s,
        "queries": float(queries),
        "answered": answered / queries if queries else 0.0,
        "mean_ms": statistics.fmean(latencies) if latencies else 0.0,
        "p50_ms": percentile(ordered, 50) if ordered else 0.0,
        "p95_ms": percentile(ordered, 95) if ordered else 0.0,
        "p99_ms": percentile(ordered, 99) if ordered else 0.0,
        "max_ms": ordered[-1] if ordered else 0.0,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/qa.py", description=__doc__.splitlines()[0])
    parser.add_argument("--multiplier", type=int, default=10, help="corpus size × shipped (10)")
    parser.add_argument("--queries", type=int, default=1000, help="timed searches (1000)")
    args = parser.parse_args(argv)
    if args.multiplier < 1 or args.queries < 1:
        parser.error("--multiplier and --queries must be at least 1")
    r = run(args.multiplier, args.queries)
    print(
        f"qa benchmark: {r['units']:,.0f} units ({args.multiplier} × shipped), "
        f"{r['passages']:,.0f} passages, {r['queries']:,.0f} queries over {len(QUESTIONS)} "
        f"questions, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    )
    print(f"jieba     {r['jieba_s']:6.2f} s  (dictionary load, once per process)")
    print(f"build     {r['build_s']:6.2f} s")
    print(
        f"search    p50 {r['p50_ms']:.2f} ms  p95 {r['p95_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms"
        f"  max {r['max_ms']:.2f} ms  mean {r['mean_ms']:.2f} ms  answered {r['answered']:.0%}"
    )
    ok = r["p95_ms"] < MAX_P95_MS
    print(f"target: p95 < {MAX_P95_MS:.0f} ms: {'PASS' if ok else 'FAIL'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
