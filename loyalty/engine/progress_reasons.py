"""The words of stamp cards' and challenges' explanation lines (their codes are in reasons.py's table)."""

from collections.abc import Mapping

from .wording import PERIOD_WORDS, money, points


def _stamp(args: Mapping) -> str:
    return f"Stamp {args['stamp']} of {args['of']} on the {args['card']}"


def _card_completed(args: Mapping) -> str:
    gives = f"a {args['reward']} code" if args.get("reward") else points(args["points"])
    return f"Stamp {args['stamp']} of {args['of']}: the {args['card']} is complete and gives {gives}"


def _stamp_min_amount(args: Mapping) -> str:
    return (f"A purchase of {money(args['amount'], args['currency'])} gives no stamp on the {args['card']}"
            f" (at least {money(args['min_amount'], args['currency'])})")


def _goal(args: Mapping) -> str:
    n, of = args["n"], args["of"]
    if args["goal"] == "amount":
        said = f"{money(n, args['currency'])} of {money(of, args['currency'])} spent"
    elif args["goal"] == "distinct_categories":
        said = f"{n} of {of} categories"
    else:
        said = f"{n} of {of} {'purchases' if args['on'] == 'purchase' else 'times'}"
    return f"{said} {_challenge_window(args)}"


def _challenge_window(args: Mapping) -> str:
    return PERIOD_WORDS[args["per"]][1] if args.get("per") else f"in the last {args['days']} days"


def _challenge_completed(args: Mapping) -> str:
    gives = f"the {args['badge']} badge" if args.get("badge") else points(args["points"])
    return f"{_goal(args)}: {args['challenge']} complete, {gives}"


def _challenge_done(args: Mapping) -> str:
    if args.get("repeat"):
        return f"{args['challenge']} is already complete {_challenge_window(args)}"
    return f"{args['challenge']} is already complete"


_STREAK_UNITS = {"day": ("Day", "days", "Today"), "week": ("Week", "weeks", "This week"),
                 "calendar_month": ("Month", "months", "This month")}


def _streak_progress(args: Mapping) -> str:
    return f"{_STREAK_UNITS[args['period']][0]} {args['n']} of {args['of']} in a row on {args['streak']}"


def _streak_completed(args: Mapping) -> str:
    gives = f"the {args['badge']} badge" if args.get("badge") else points(args["points"])
    unit = _STREAK_UNITS[args["period"]][1]
    return f"{args['streak']}: {args['n']} of {args['of']} {unit} in a row, complete, {gives}"


def _streak_min_amount(args: Mapping) -> str:
    return (f"A purchase of {money(args['amount'], args['currency'])} counts for no streak ({args['streak']},"
            f" at least {money(args['min_amount'], args['currency'])})")


STREAK_RENDERERS = {
    "streak_progress": _streak_progress,
    "streak_completed": _streak_completed,
    "streak_counted": lambda args: f"{_STREAK_UNITS[args['period']][2]} already counts for {args['streak']}",
    "streak_earlier": lambda args: (f"{_STREAK_UNITS[args['period']][2].split()[-1].capitalize()} is before the last"
                                    f" one counted for {args['streak']}"),
    "streak_done": lambda args: f"{args['streak']} is already complete",
    "streak_min_amount": _streak_min_amount,
}
#: A streak's lines (``Evaluation.streak_explanation``).
STREAK_CODES = frozenset(STREAK_RENDERERS)

#: A stamp card's lines (``Evaluation.card_explanation``), apart from the earning rules'.
CARD_CODES = frozenset({"stamp", "card_completed", "already_stamped", "stamp_min_amount", "no_matching_items"})
PROGRESS_RENDERERS = {
    "stamp": _stamp,
    "card_completed": _card_completed,
    "already_stamped": lambda args: f"The {args['card']} already has today's stamp (one a day)",
    "stamp_min_amount": _stamp_min_amount,
    "challenge_progress": _goal,
    "challenge_completed": _challenge_completed,
    "challenge_done": _challenge_done,
    "challenge_no_new_category": lambda args: f"{_goal(args)}: no new category",
    "challenge_min_amount": lambda args: f"A purchase of $0.00 counts for no challenge ({args['challenge']})",
    **STREAK_RENDERERS,
}
#: A challenge's lines (``Evaluation.challenge_explanation``).
CHALLENGE_CODES = frozenset({"challenge_progress", "challenge_completed", "challenge_done",
                             "challenge_no_new_category", "challenge_min_amount"})
