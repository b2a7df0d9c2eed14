"""Marshmallow fields for the contract's conventions."""

from datetime import UTC

import marshmallow as ma

from loyalty.clock import to_rfc3339


class Timestamp(ma.fields.DateTime):
    """RFC 3339: dumped in UTC with a ``Z``; loaded only with an explicit offset."""

    default_error_messages = {"naive": "must be RFC 3339 with a timezone (e.g. 2026-11-23T14:05:00Z)"}

    def _serialize(self, value, attr, obj, **kwargs):
        return to_rfc3339(value)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and value.endswith(("z", "Z")):
            value = value[:-1] + "+00:00"
        result = super()._deserialize(value, attr, data, **kwargs)
        if result.tzinfo is None:
            raise self.make_error("naive")
        return result.astimezone(UTC)
