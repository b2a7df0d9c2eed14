"""Micro benchmark of the rule engine: µs per evaluation and load time.

Generated programs are the demo plus N rules spread the way a real program
grows: one in ten listens to purchases (with store, channel, window or item
conditions), the rest to 40 other actions. Targets: ≤ 50 µs for the demo,
≤ 1 ms with 1,000 rules, t(1000)/t(100) ≤ 12, load + validate 1,000 rules ≤ 500 ms.

Run: .venv/bin/python bench/engine.py
"""

import sys
import timeit
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loyalty.engine import EventFacts, Item, MemberFacts, evaluate, load_program

DEMO = (ROOT / "rules" / "program.yaml").read_text()


def generated_rule(i: int) -> str:
    if i % 10:
        return (
            f"  - id: gen-{i}\n    description: Generated action rule {i}\n"
            f"    on: action_{i % 40}\n    award: {{points: {10 + i % 7}}}\n"
            f"    conditions: {{channel: {{in: [web, app]}}}}\n"
            f"    limit: {{count: 2, per: calendar_month}}\n"
        )
    kind = (i // 10) % 4
    extra = [
        f"    conditions: {{store_id: {{equals: store-{i}}}}}\n",
        f"    conditions: {{channel: {{equals: kiosk}}, amount: {{at_least: {i * 10}}}}}\n",
        "    window: {from: 2027-01-01, to: 2027-01-31}\n",
        "    award: {points_per_dollar: 0.5, of: items, where: {category: [tea, pastry]}}\n",
    ][kind]
    award = "" if kind == 3 else "    award: {points_per_dollar: 2}\n"
    return (
        f"  - id: gen-{i}\n    description: Generated purchase rule {i}\n"
        f"    on: purchase\n{award}{extra}    multiply_by_tier: true\n"
    )


def program_text(n: int) -> str:
    """The demo with ``n`` generated rules at the end of its ``rules:`` section."""
    lines = DEMO.splitlines(keepends=True)
    start = lines.index("rules:\n")
    end = next((i for i in range(start + 1, len(lines)) if lines[i][:1] not in ("", " ", "#", "\n")), len(lines))
    return "".join(lines[:end]) + "".join(generated_rule(i) for i in range(n)) + "".join(lines[end:])


EVENT = EventFacts(
    "purchase",
    datetime(2026, 12, 21, 15, 0, tzinfo=UTC),
    amount=1250,
    currency="USD",
    store_id="downtown",
    channel="pos",
    items=(Item("latte-l", "coffee", 2, 450), Item("scone", "pastry", 1, 350)),
)
MEMBER = MemberFacts("mem_1", "silver", usage={("cap:purchase-daily", "2026-12-21"): 1980})


def per_evaluation(program, number: int = 20000) -> float:
    best = min(timeit.repeat(lambda: evaluate(program, EVENT, MEMBER), number=number, repeat=5))
    return best / number * 1e6


def main() -> None:
    demo = load_program(DEMO)
    t_demo = per_evaluation(demo)
    t100 = per_evaluation(load_program(program_text(100)), 5000)
    text = program_text(1000)
    load = min(timeit.repeat(lambda: load_program(text), number=1, repeat=3)) * 1000
    t1000 = per_evaluation(load_program(text), 1000)
    print(f"demo rules:          {t_demo:8.1f} µs per evaluation   (target ≤ 50)")
    print(f"demo + 100 rules:    {t100:8.1f} µs per evaluation")
    print(f"demo + 1,000 rules:  {t1000:8.1f} µs per evaluation   (target ≤ 1,000)")
    print(f"t(1000) / t(100):    {t1000 / t100:8.1f}                 (target ≤ 12)")
    print(f"load 1,000 rules:    {load:8.1f} ms                  (target ≤ 500)")


if __name__ == "__main__":
    main()
