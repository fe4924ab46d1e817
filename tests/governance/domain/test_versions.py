from decimal import Decimal

from governance.domain.versions import Change, changes_between


def test_only_the_fields_that_moved_are_listed_with_old_and_new():
    old = {"promotion_threshold": 80, "retention_days": 365, "weights": {"accuracy": "0.20", "speed": "0.30"}}
    new = {"promotion_threshold": 85, "retention_days": 365, "weights": {"accuracy": "0.25", "speed": "0.30"}}

    assert changes_between(old, new) == [
        Change("promotion_threshold", 80, 85),
        Change("weights.accuracy", "0.20", "0.25"),
    ]


def test_a_key_only_one_version_has_shows_none_on_the_other_side():
    changes = changes_between({"penalty_points": {"timeout": -20}}, {"penalty_points": {"copied": -5}})

    assert changes == [Change("penalty_points.copied", None, -5), Change("penalty_points.timeout", -20, None)]


def test_the_same_value_spelled_as_a_decimal_is_no_change():
    assert changes_between({"weights": {"a": "0.3"}}, {"weights": {"a": Decimal("0.3")}}) == []


def test_without_a_previous_version_every_field_is_new():
    assert changes_between(None, {"retention_days": 30}) == [Change("retention_days", None, 30)]
