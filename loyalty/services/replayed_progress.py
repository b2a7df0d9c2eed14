"""A member's challenges and streaks kept in memory while a replay advances them (simulations, backtests)."""

from dataclasses import dataclass, field
from datetime import datetime

from loyalty.engine import Program
from loyalty.engine.challenges import Entry, completion_key, progress_of, window_key


@dataclass
class ReplayedProgress:
    entries: dict = field(default_factory=dict)  # challenge id → [Entry]
    completions: dict = field(default_factory=dict)  # challenge id → {completion key}
    streaks: dict = field(default_factory=dict)  # streak id → StreakState

    def challenge_progress(self, program: Program, event_type: str, occurred_at: datetime) -> dict:
        local = occurred_at.astimezone(program.timezone)
        return {c.id: progress_of(c, self.entries.get(c.id, ()), self.completions.get(c.id, set()), local)
                for c in program.challenges if c.on == event_type}

    def advance(self, program: Program, occurred_at: datetime, steps, streak_steps) -> None:
        """Keep what an evaluation's challenge ``steps`` and ``streak_steps`` did."""
        local = occurred_at.astimezone(program.timezone)
        for step in steps:
            challenge = program.challenge(step.challenge_id)
            self.entries.setdefault(challenge.id, []).append(
                Entry(local.date(), window_key(challenge, local), step.amount, step.categories))
            if step.completes:
                self.completions.setdefault(challenge.id, set()).add(completion_key(challenge, local))
        self.streaks.update((step.streak_id, step.after) for step in streak_steps if step.gives)
