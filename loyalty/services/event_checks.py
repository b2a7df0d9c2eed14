"""What the rules accept of an event: the one check the live API and every dry run share."""

from loyalty.engine import Program

PURCHASE = "purchase"
MONEY_FIELDS = ("amount", "currency", "items")


def event_errors(program: Program, event) -> dict[str, list[str]]:
    """Field → messages for an event (anything with type, amount, currency, items) these rules reject."""
    fields: dict[str, list[str]] = {}
    if event.type != PURCHASE and event.type not in program.actions:
        known = ", ".join(sorted(program.actions))
        fields["type"] = [f"unknown action {event.type!r}; the active rules know: {known}"]
    if event.type == PURCHASE:
        if event.amount is None:
            fields["amount"] = ["required for a purchase"]
        if event.currency is None:
            fields["currency"] = ["required for a purchase"]
        elif event.currency != program.currency:
            fields["currency"] = [f"the program runs in {program.currency}, not {event.currency}"]
    else:
        for name in MONEY_FIELDS:
            if getattr(event, name):
                fields[name] = [f"only purchases carry {name}; put action details in attributes"]
    return fields
