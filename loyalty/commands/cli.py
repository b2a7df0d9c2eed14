"""Command line: ``flask --app app keys|rules|ledger|dev …``."""

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from loyalty import clock
from loyalty.commands.event_file import EventFileInvalid, read_events
from loyalty.db.transactions import write_transaction
from loyalty.engine import RulesInvalid, load_program, load_program_dir
from loyalty.errors import ConfirmationRequired
from loyalty.extensions import db
from loyalty.services import api_keys
from loyalty.services import rules as rules_service
from loyalty.services.simulation import simulate

keys = AppGroup("keys", help="API keys for tills and operators.")
rules = AppGroup("rules", help="The earning rules, tiers and program settings (YAML).")
ledger = AppGroup("ledger", help="Checks on the points ledger.")
dev = AppGroup("dev", help="Development conveniences.")


@keys.command("create")
@click.option("--name", required=True, help="A name that says who uses the key, e.g. till-1.")
@click.option("--scope", type=click.Choice(["pos", "admin"]), required=True)
def keys_create(name, scope):
    """Create a key; it is printed once, alone on the last line."""
    with write_transaction(db.session):
        _, secret = _or_fail(lambda: api_keys.create_key(db.session, name, scope, clock.now(), "cli"))
    click.echo(f"Created {scope} key {name!r}. Store it now: it cannot be shown again.", err=True)
    click.echo(secret)


@keys.command("list")
def keys_list():
    from loyalty.models import ApiKey

    for key in db.session.scalars(db.select(ApiKey).order_by(ApiKey.name)):
        state = f"revoked {clock.to_rfc3339(key.revoked_at)}" if key.revoked_at else "active"
        click.echo(f"{key.name}\t{key.scope}\tlk_{key.prefix}_…\t{clock.to_rfc3339(key.created_at)}\t{state}")


@keys.command("revoke")
@click.option("--name", required=True)
def keys_revoke(name):
    with write_transaction(db.session):
        _or_fail(lambda: api_keys.revoke_key(db.session, name, clock.now(), "cli"))
    click.echo(f"Revoked {name!r}.")


def _read_rules(path: Path) -> str:
    """The program text from a file, or from the single YAML file in a directory."""
    if path.is_dir():
        files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
        if len(files) != 1:
            raise click.ClickException(f"{path} must hold exactly one program file (*.yaml), found {len(files)}.")
        path = files[0]
    return path.read_text(encoding="utf-8")


def _validate(path: Path):
    try:
        return load_program_dir(path) if path.is_dir() else load_program(path.read_text("utf-8"), str(path))
    except RulesInvalid as invalid:
        for error in invalid.errors:
            click.echo(str(error), err=True)
        raise click.ClickException(f"{len(invalid.errors)} problem(s) in {path}.") from None


@rules.command("validate")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
def rules_validate(path):
    """Check a rules file or directory; errors name file, line and column."""
    program = _validate(path)
    click.echo(f"OK: {program.name}, {len(program.rules)} rules, {len(program.tiers)} tiers.")


@rules.command("load")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--note", default=None, help="Why this version was published.")
@click.option("--by", "published_by", default="cli")
@click.option("--confirm", is_flag=True, help="Publish even if the change is risky (it lists why first).")
def rules_load(path, note, published_by, confirm):
    """Publish the rules at PATH as a new active version (unless already active)."""
    _validate(path)
    text = _read_rules(path)
    try:
        with write_transaction(db.session):
            active = rules_service.active_version(db.session)
            if active is not None and active.yaml == text:
                click.echo(f"Rules version {active.version} is already active and identical.")
                return
            row = rules_service.publish(db.session, text, published_by, note or f"loaded from {path}", confirm)
    except ConfirmationRequired as risky:
        for warning in risky.details["warnings"]:
            click.echo(f"warning: {warning['code']}: {warning['message']}", err=True)
        raise click.ClickException("Not published: run again with --confirm to publish anyway.") from None
    click.echo(f"Published and activated rules version {row.version}.")


@rules.command("export")
@click.argument("path", type=click.Path(path_type=Path))
def rules_export(path):
    """Write the active version to PATH: a .yaml file, or program.yaml inside a folder (made if missing)."""
    active = rules_service.active_version(db.session)
    if active is None:
        raise click.ClickException("No rules are published yet.")
    target = path if path.suffix in (".yaml", ".yml") and not path.is_dir() else path / "program.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(active.yaml, encoding="utf-8")
    click.echo(f"Wrote version {active.version} to {target}.")


@rules.command("simulate")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.argument("events_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tier", default=None, help="The member's tier before the first event.")
def rules_simulate(path, events_file, tier):
    """Dry-run the events in EVENTS_FILE (a JSON list) through the rules at PATH.

    Each event is checked as POST /v1/events checks it; every problem is printed with its line."""
    program = _validate(path)
    if tier is not None and tier not in {t.id for t in program.tiers}:
        raise click.ClickException(f"--tier {tier!r} is not a tier of these rules: "
                                   f"{', '.join(t.id for t in program.tiers)}.")
    try:
        events = read_events(events_file, program)
    except EventFileInvalid as invalid:
        for problem in invalid.problems:
            click.echo(problem, err=True)
        raise click.ClickException(f"{len(invalid.problems)} problem(s) in {events_file}.") from None
    for result in simulate(program, events, tier_id=tier):
        total = sum(a.points for a in result["awarded"])
        click.echo(f"{clock.to_rfc3339(result['occurred_at'])} {result['type']}: {total} points")
        for line in result["explanation"]:
            click.echo(f"  {line['rule_id']}: {line['points']} — {line['reason']}")


@ledger.command("verify")
def ledger_verify():
    """Recompute every cached figure from entries, lots and draws; exit 1 on any mismatch."""
    from loyalty.ledger.verify import CHECKS, verify_ledger

    mismatches = verify_ledger(db.session)
    for mismatch in mismatches:
        click.echo(str(mismatch), err=True)
    if mismatches:
        raise SystemExit(1)
    click.echo(f"Ledger OK: {len(CHECKS)} checks, no mismatch. Every balance is the sum of its entries and of its"
               " lots; pending, lifetime earned and lifetime redeemed agree with the entries and pending lots; no"
               " lot holds more than its points less its standing draws.")


@dev.command("api-key")
def dev_api_key():
    """Print the development admin key, creating it on first use (instance/dev-api-key)."""
    store = Path(current_app.instance_path) / "dev-api-key"
    if store.exists() and api_keys.authenticate(db.session, store.read_text().strip()):
        click.echo(store.read_text().strip())
        return
    from loyalty.models import ApiKey

    with write_transaction(db.session):
        db.session.execute(db.delete(ApiKey).where(ApiKey.name == "development"))
        _, secret = api_keys.create_key(db.session, "development", "admin", clock.now(), "cli")
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text(secret)
    click.echo(secret)


def _or_fail(action):
    from loyalty.errors import LoyaltyError

    try:
        return action()
    except LoyaltyError as error:
        raise click.ClickException(f"{error.message} {error.details or ''}".strip()) from None


#: Command groups defined elsewhere, one "module:attribute" per line.
EXTERNAL_GROUPS = [
    "loyalty.commands.jobs:jobs",
    "loyalty.commands.members:members",
    "loyalty.commands.events:events",
]


def register(app) -> None:
    from importlib import import_module

    for group in (keys, rules, ledger, dev):
        app.cli.add_command(group)
    for name in EXTERNAL_GROUPS:
        module, _, attribute = name.partition(":")
        app.cli.add_command(getattr(import_module(module), attribute))
