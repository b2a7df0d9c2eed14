"""The rule engine: rules YAML in, awards and explanations out.

Pure: no database, no Flask, no clock. Time always comes in as an argument.
"""

from .errors import RuleError, RulesInvalid
from .evaluate import Award, Evaluation, UsageIncrement, evaluate
from .explanation import Explanation, explanation_words, stored_explanation
from .facts import EventFacts, Item, MemberFacts, ReferrerFacts
from .lifecycle import STAGES, lifecycle_stage
from .loader import load_program, load_program_dir
from .program import Cap, Program, Rule, Tier, UsageKeys

__all__ = [
    "STAGES",
    "Award",
    "Cap",
    "Evaluation",
    "EventFacts",
    "Explanation",
    "Item",
    "MemberFacts",
    "Program",
    "ReferrerFacts",
    "Rule",
    "RuleError",
    "RulesInvalid",
    "Tier",
    "UsageIncrement",
    "UsageKeys",
    "evaluate",
    "explanation_words",
    "lifecycle_stage",
    "load_program",
    "load_program_dir",
    "stored_explanation",
]
