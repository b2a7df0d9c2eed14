"""The plain words of explanations: money, points, periods."""

from decimal import Decimal
from fractions import Fraction

_SYMBOLS = {"USD": "$", "CAD": "CA$", "AUD": "A$", "EUR": "€", "GBP": "£"}
_ZERO_DECIMAL = frozenset({"JPY", "KRW", "CLP", "ISK", "VND"})

PERIOD_WORDS = {
    "day": ("Daily", "today"),
    "week": ("Weekly", "this week"),
    "calendar_month": ("Monthly", "this month"),
    "calendar_year": ("Yearly", "this year"),
    "member": ("Lifetime", "so far"),
}
LIMIT_WORDS = {
    "day": "per day",
    "week": "per week",
    "calendar_month": "per calendar month",
    "calendar_year": "per calendar year",
    "member": "per member",
}


def money(minor: int, currency: str) -> str:
    """1250 USD → "$12.50"; 1250 JPY → "1,250 JPY"."""
    if currency in _ZERO_DECIMAL:
        return f"{minor:,} {currency}"
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(minor), 100)
    symbol = _SYMBOLS.get(currency)
    if symbol:
        return f"{sign}{symbol}{whole:,}.{cents:02d}"
    return f"{sign}{whole:,}.{cents:02d} {currency}"


def unit(currency: str) -> str:
    """What "per dollar" reads as in this currency."""
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}1" if symbol else f"1 {currency}"


def points(n: int) -> str:
    return "1 point" if n == 1 else f"{n:,} points"


def number(value) -> str:
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return str(value.numerator)
        return str(Decimal(value.numerator) / Decimal(value.denominator))
    return str(value)


def limit(count: int, per: str) -> str:
    if per == "member" and count == 1:
        return "Already awarded once for this member"
    return f"Limit of {count:,} {LIMIT_WORDS[per]} reached"
