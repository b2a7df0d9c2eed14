"""Reading a submitted form into YAML values, and the few shapes several forms share."""

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from loyalty.engine.rule_grammar import ITEM_FILTERS
from loyalty.errors import ValidationFailed

UNITS = ("days", "months", "years")
_DURATION = re.compile(r"\s*(\d+)\s*(day|month|year)s?\s*")


class FormInvalid(ValidationFailed):
    """Which fields of a form are wrong, each with what it takes."""


class FormReader:
    """Values of a submitted form, read as the YAML wants them; the fields that fail are collected."""

    def __init__(self, form):
        self.form, self.errors = form, {}

    def text(self, name: str) -> str:
        value = self.form.get(name, "")
        if isinstance(value, list):
            value = value[0] if value else ""
        return str(value).strip()

    def many(self, name: str) -> list[str]:
        getlist = getattr(self.form, "getlist", None)
        values = getlist(name) if getlist else self.form.get(name, [])
        values = [values] if isinstance(values, str) else values
        return [str(value).strip() for value in values]

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def required(self, name: str, pattern: str | None = None, what: str = "") -> str:
        value = self.text(name)
        if not value:
            self.fail(name, "required")
        elif pattern and not re.fullmatch(pattern, value):
            self.fail(name, what)
        return value

    def whole(self, name: str, minimum: int = 0, required: bool = False) -> int | None:
        value = self.text(name)
        if not value:
            if required:
                self.fail(name, "required")
            return None
        try:
            number = int(value.replace(",", ""))
        except ValueError:
            self.fail(name, "a whole number")
            return None
        if number < minimum:
            self.fail(name, f"must be {minimum} or more")
            return None
        return number

    def number(self, name: str, required: bool = False):
        value = self.text(name)
        if not value:
            if required:
                self.fail(name, "required")
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:
            self.fail(name, "a number, e.g. 1 or 1.5")
            return None
        if number < 0 or not number.is_finite():
            self.fail(name, "must be 0 or more")
            return None
        return int(number) if "." not in value and number == number.to_integral_value() else float(value)

    def day(self, name: str) -> date | None:
        value = self.text(name)
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(name, "a date like 2026-12-20")
            return None

    def flag(self, name: str) -> bool:
        return self.text(name) in ("1", "on", "true", "yes", "True")

    def choice(self, name: str, choices, required: bool = False) -> str | None:
        value = self.text(name)
        if not value and not required:
            return None
        if value not in choices:
            self.fail(name, f"one of {', '.join(choices)}")
            return None
        return value


def put(result: dict, key: str, value) -> None:
    if value not in (None, "", [], {}):
        result[key] = value


def ordered(result: dict, order) -> dict:
    return {key: result[key] for key in order if key in result}


def text_of(value) -> str:
    return "" if value is None else str(value)


def one_or_list(values: list):
    return values[0] if len(values) == 1 else values


def as_list(value) -> list:
    return list(value) if isinstance(value, list) else [] if value is None else [value]


def item_filter_fields(where: dict) -> dict:
    """A ``where: {category|sku: …}`` (an award's or a stamp's) as its form's ``item_by`` and ``item_values``."""
    by = "sku" if "sku" in where and "category" not in where else "category"
    return {"item_by": by, "item_values": ", ".join(map(str, as_list(where.get(by))))}


def item_filter_data(form: "FormReader") -> dict:
    """The form's ``item_by`` and ``item_values`` as a ``where``; {} when it names no value."""
    values = [value.strip() for value in form.text("item_values").split(",") if value.strip()]
    if not values:
        return {}
    return {form.choice("item_by", ITEM_FILTERS, required=True): one_or_list(values)}


def duration(value) -> tuple[str, str]:
    """("12", "months") from "12 months"; ("", "never") from never; ("", "") when unset."""
    if value is None:
        return "", ""
    if str(value).strip() == "never":
        return "", "never"
    match = _DURATION.fullmatch(str(value))
    return (match[1], match[2] + "s") if match else (str(value), "")


def duration_data(form: FormReader, count_name: str, unit_name: str) -> str | None:
    unit = form.choice(unit_name, UNITS + ("never",))
    if unit == "never":
        return "never"
    count = form.whole(count_name, minimum=1)
    if count is None and unit is None:
        return None
    if count is None or unit is None:
        form.fail(count_name, "give a number and a unit, e.g. 12 months")
        return None
    return f"{count} {unit[:-1] if count == 1 else unit}"


def on_day(form: FormReader, name: str):
    value = form.text(name)
    if not value:
        return None
    if re.fullmatch(r"\d{2}-\d{2}", value):
        return value
    return form.day(name)
