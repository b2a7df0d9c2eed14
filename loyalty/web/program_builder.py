"""The program builder: forms for every part of the program, drawn from the editor's YAML and written back to it.

Both calls work on the text in the editor, never on the database: the forms
are drawn from it (so a YAML edit shows in the forms) and a form's values are
written into it (so the YAML view shows the form's edit, comments kept).
Nothing is published until the marketer publishes.
"""

from flask import render_template, request

from loyalty.engine.catalog import catalog
from loyalty.engine.conditions import EVENT_FIELDS, OPERATORS
from loyalty.engine.periods import DAY_NAMES
from loyalty.engine.program_changes import award_words, when_words
from loyalty.engine.progress_changes import badge_words, challenge_words, streak_words
from loyalty.engine.wording import money
from loyalty.errors import LoyaltyError, RulesRejected
from loyalty.extensions import db
from loyalty.services import program_builder
from loyalty.services import rules as rules_service
from loyalty.services.program_builder import forms as program_forms
from loyalty.services.program_builder.form_reader import UNITS, FormInvalid
from loyalty.services.program_builder.rule_form import AWARD_KINDS, END_OF
from loyalty.web import blp
from loyalty.web.auth import admin_required
from loyalty.web.members import REWARD_TYPE_LABELS
from loyalty.web.rules import yaml_from

PERIOD_NAMES = {"member": "ever (per member)", "day": "a day", "week": "a week", "calendar_month": "a calendar month",
                "calendar_year": "a calendar year"}
CONDITION_FIELDS = EVENT_FIELDS + ("member.tier", "attributes.stars")


@blp.post("/rules/builder")
@admin_required
def rules_builder():
    """The forms for the YAML in the editor (HTML fragment)."""
    try:
        text = yaml_from(request.form)
        outline = program_builder.outline(text)
    except RulesRejected as rejected:
        return render_template("admin/_problems.html", errors=rejected.details["errors"]), 422
    try:
        program = rules_service.compile_rules(text)
    except RulesRejected:
        program = None  # the forms still show what the text says; the editor lists the problems
    active = rules_service.active_rules(db.session).program
    return render_template(
        "admin/_builder.html", outline=outline, words=_rule_words(program), program=program or active,
        compiled=program is not None, catalog=catalog(program or active), award_kinds=AWARD_KINDS,
        progress_words=_progress_words(program), money=lambda minor: money(minor, (program or active).currency),
        period_names=PERIOD_NAMES, days=DAY_NAMES, operators=OPERATORS, condition_fields=CONDITION_FIELDS,
        units=[(unit, unit) for unit in UNITS], end_of=[(period, period) for period in END_OF],
        type_labels=REWARD_TYPE_LABELS,
        rule_ids=[key for key, _ in outline["rules"]], tier_ids=[key for key, _ in outline["tiers"]],
        tier_names={key: fields["name"] or key for key, fields in outline["tiers"]},
        reward_names={key: fields["name"] or key for key, fields in outline["rewards"]},
        badge_names={key: fields["name"] or key for key, fields in outline["badges"]}, **_new_items())


@blp.post("/rules/builder/apply")
@admin_required
def rules_builder_apply():
    """One form written into the editor's YAML, or removed from it: the new text (JSON), or what is wrong."""
    form = request.form
    section, key = form.get("section", ""), form.get("key", "")
    try:
        text = yaml_from(form)
        if form.get("action") == "remove":
            edited = program_builder.remove_item(text, section, key)
        else:
            edited = program_builder.apply_form(text, section, key, form)
    except FormInvalid as invalid:
        return {"fields": invalid.details["fields"], "errors": []}, 422
    except RulesRejected as rejected:
        if form.get("action") == "remove":
            return {"fields": {}, "errors": rejected.details["errors"]}, 422
        fields, errors = program_builder.errors_beside_fields(text, section, key, rejected.details["errors"])
        return {"fields": fields, "errors": errors}, 422
    except LoyaltyError as error:
        return {"fields": error.details.get("fields") or {}, "errors": [{"message": error.message}]}, 422
    return {"yaml": edited}


def _new_items() -> dict:
    """Empty forms, set to the likeliest choices."""
    rule = program_forms.fields("rule", {"on": "purchase"})
    rule.update(limit_per="calendar_month", referrer_limit_per="calendar_year")
    cap = program_forms.fields("cap", {"per": "day"})
    return {"new_rule": rule, "new_cap": cap, "new_tier": program_forms.fields("tier", {}),
            "new_reward": program_forms.fields("reward", {"type": "free_item"}),
            "new_card": program_forms.fields("card", {"stamp": {"per": "day"}, "stamps": 10}),
            "new_badge": program_forms.fields("badge", {}),
            "new_challenge": program_forms.fields("challenge", {"within": "calendar_month"}),
            "new_streak": program_forms.fields("streak", {"period": "week", "length": 3})}


def _rule_words(program) -> dict[str, str]:
    if program is None:
        return {}
    return {rule.id: f"{award_words(rule, program)}, {when_words(rule)}" for rule in program.rules}


def _progress_words(program) -> dict[str, dict[str, str]]:
    """Each challenge, streak and badge in words, for its line in the list; none while the text does not compile."""
    if program is None:
        return {"challenges": {}, "streaks": {}, "badges": {}}
    return {"challenges": {item.id: challenge_words(item, program) for item in program.challenges},
            "streaks": {item.id: streak_words(item, program) for item in program.streaks},
            "badges": {item.id: badge_words(item, program) for item in program.badges}}
