"""Money, points and periods in words, for every explanation."""

_SYMBOLS = {"USD": "$", "CAD": "CA$", "AUD": "A$", "EUR": "€", "GBP": "£"}
_ZERO_DECIMAL = frozenset({"JPY", "KRW", "CLP", "ISK", "VND"})
_CENTS = tuple(f"{cents:02d}" for cents in range(100))

PERIOD_WORDS = {
    "day": ("Daily", "today"),
    "week": ("Weekly", "this week"),
    "calendar_month": ("Monthly", "this month"),
    "calendar_year": ("Yearly", "this year"),
    "member": ("Lifetime", "so far"),
}


def money(minor: int, currency: str) -> str:
    """1250 USD → "$12.50"; 1250 JPY → "1,250 JPY"."""
    if currency in _ZERO_DECIMAL:
        return f"{grouped(minor)} {currency}"
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(minor), 100)
    symbol = _SYMBOLS.get(currency)
    if symbol:
        return f"{sign}{symbol}{grouped(whole)}.{_CENTS[cents]}"
    return f"{sign}{grouped(whole)}.{_CENTS[cents]} {currency}"


def unit(currency: str) -> str:
    """What "per dollar" reads as in this currency."""
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}1" if symbol else f"1 {currency}"


def points(n: int) -> str:
    return "1 point" if n == 1 else f"{grouped(n)} points"


def grouped(n: int) -> str:
    """f"{n:,}", without the format spec's cost for the numbers that have no thousands."""
    return str(n) if -1000 < n < 1000 else f"{n:,}"
