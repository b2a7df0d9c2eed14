"""storage: an event's explanation is one JSON object keyed by rule id, and says nothing twice

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 21:00:00

An explanation stored by 0017 is a list of lines, each with its rule id and
every argument of its reason code. From now on it is an object keyed by rule
id, in the rules' order, so SQL reads a rule's line by its id
(``explanation->'spend'->>'points'``); an argument that is None is left out,
and so is one the line or the event's row holds already: an award's points
and currency, a window's event type and day. The app puts them back when it
reads the line (``loyalty.engine.explanation``). Lines recorded in words,
before reason codes, stay as they are.

The downgrade gives every line back its rule id and all its arguments, as
0017 stored them. The conversion below is frozen: it must keep doing what it
did when the app's reading moves on.
"""
from datetime import UTC
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from row_rewrite import JSONColumn, rewrite_rows

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

_RATE = ('rate', 'of', 'amount', 'currency', 'categories', 'skus', 'multiplier', 'tier', 'points')
_FIXED = ('base_points', 'multiplier', 'tier', 'points')
#: Every argument of each reason code 0017 stored, in the engine's order (a capped award: its award's).
ARGUMENTS = {
    'rate': _RATE,
    'fixed': _FIXED,
    'limit_reached': ('count', 'per'),
    'no_items': (),
    'no_matching_items': ('categories', 'skus'),
    'condition_not_met': ('field', 'operator', 'expected', 'actual', 'currency'),
    'outside_window': ('start', 'end', 'timezone', 'event_type', 'day'),
    'wrong_weekday': ('days', 'timezone', 'event_type', 'day'),
    'not_referred': (),
    'shared_email': (),
    'referral': ('referred_points', 'referrer', 'referrer_status', 'referrer_outcome', 'referrer_points',
                 'referrer_limit'),
}
_CAPPED = {'rate': ('award', *_RATE, 'caps'), 'fixed': ('award', *_FIXED, 'caps')}
_READ = {'type': sa.String(), 'currency': sa.String(), 'occurred_at': sa.DateTime(timezone=True),
         'explanation': JSONColumn(binary=False)}
_WRITTEN = {'explanation': JSONColumn(binary=False)}


def _names(code: str, args: dict) -> tuple[str, ...] | None:
    """The arguments a line of this code has, or None for a code or award 0017 did not write."""
    if code == 'cap_reached':
        return _CAPPED.get(args.get('award'))
    return ARGUMENTS.get(code)


def _implied(code: str, points: int, args: dict, row) -> dict:
    """The arguments that the line's points and its event's row say already."""
    if code in ('rate', 'fixed', 'cap_reached'):
        return {'points': points} if code == 'fixed' or args.get('award') == 'fixed' else {
            'points': points, 'currency': row['currency']}
    if code in ('outside_window', 'wrong_weekday') and isinstance(args.get('timezone'), str):
        occurred_at = row['occurred_at']
        if occurred_at.tzinfo is None:
            occurred_at = occurred_at.replace(tzinfo=UTC)
        try:
            day = occurred_at.astimezone(ZoneInfo(args['timezone'])).date().isoformat()
        except (ValueError, KeyError):
            return {'event_type': row['type']}
        return {'event_type': row['type'], 'day': day}
    return {}


def _by_rule(row) -> dict:
    lines = row['explanation']
    if not isinstance(lines, list) or not lines or not all('code' in line for line in lines) \
            or len({line['rule_id'] for line in lines}) != len(lines):
        return {'explanation': lines}
    stored = {}
    for line in lines:
        args = line.get('args') or {}
        fact = {'matched': line['matched'], 'points': line['points'], 'code': line['code']}
        if _names(line['code'], args) is not None:
            implied = _implied(line['code'], line['points'], args, row)
            args = {name: value for name, value in args.items()
                    if value is not None and (name not in implied or implied[name] != value)}
        if args:
            fact['args'] = args
        stored[line['rule_id']] = fact
    return {'explanation': stored}


def _as_lines(row) -> dict:
    stored = row['explanation']
    if not isinstance(stored, dict):
        return {'explanation': stored}
    lines = []
    for rule_id, fact in stored.items():
        args = dict(fact.get('args') or {})
        names = _names(fact['code'], args)
        if names is not None:
            args = {**_implied(fact['code'], fact['points'], args, row), **args}
            args = {name: args.get(name) for name in names}
        lines.append({'rule_id': rule_id, 'matched': fact['matched'], 'points': fact['points'],
                      'code': fact['code'], 'args': args})
    return {'explanation': lines}


def upgrade():
    rewrite_rows('events', ('id',), _READ, _WRITTEN, _by_rule)


def downgrade():
    rewrite_rows('events', ('id',), _READ, _WRITTEN, _as_lines)
