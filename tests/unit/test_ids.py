"""Ids made in bulk look like the ones made one at a time, and do not repeat."""

import re

from loyalty.ids import new_id, new_ids

SHAPE = re.compile(r"txn_[a-z2-7]{16}")


def test_ids_made_in_bulk_have_the_shape_of_single_ones():
    assert SHAPE.fullmatch(new_id("txn"))
    ids = new_ids("txn", 5000)
    assert len(ids) == 5000
    assert all(SHAPE.fullmatch(i) for i in ids)


def test_ids_made_in_bulk_are_distinct_and_use_every_letter():
    ids = new_ids("txn", 5000)
    assert len(set(ids)) == len(ids)
    assert set("".join(i[4:] for i in ids)) == set("abcdefghijklmnopqrstuvwxyz234567")


def test_no_ids_asked_none_made():
    assert new_ids("txn", 0) == []
