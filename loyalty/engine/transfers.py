"""The ``transfers:`` section: whether members may give each other points, and within what."""

from .checker import Checker
from .program import TransferPolicy


def read_transfers(c: Checker, node) -> TransferPolicy | None:
    keys = c.mapping(node, "transfers", ("enabled", "min_points", "max_points_per_month"), required=("enabled",))
    if keys is None or "enabled" not in keys:
        return None
    enabled = c.boolean(keys["enabled"], "transfers.enabled")
    least = c.integer(keys["min_points"], "transfers.min_points", 1) if "min_points" in keys else 1
    monthly = (c.integer(keys["max_points_per_month"], "transfers.max_points_per_month", 1)
               if "max_points_per_month" in keys else None)
    if enabled is None or least is None or ("max_points_per_month" in keys and monthly is None):
        return None
    if monthly is not None and monthly < least:
        c.error(keys["max_points_per_month"], "transfers.max_points_per_month",
                f"must be at least min_points ({least}): no transfer could be made")
        return None
    return TransferPolicy(enabled, least, monthly)
