"""`parley`: manage API keys; load, list and export conversations (devtools.api_cli);
replay the raw archive.

    parley ingest events.jsonl        parley records CONVERSATION_ID --format table
    parley conversations list|get     parley export --since 2026-01-01 -o out.jsonl
    parley keys create --tenant acme [--plan free|pro|enterprise] [--stage prod]
    parley keys list [--tenant acme] [--json]
    parley keys revoke key_0123456789abcdef   (or the key itself)
    parley replay --tenant acme --since 2026-01-31 [--until 2026-02-01]
    parley dev reset                  (empty make dev's data folder; docs/local.md)

Where the keys live:
  PARLEY_DYNAMODB_ENDPOINT set: that endpoint; the table is API_KEYS_TABLE, by default the
      local server's ApiKeysTable.
  API_KEYS_TABLE set alone: AWS with your usual credentials; the deployed table (stack output
      ApiKeysTableName).
  neither: the running `make dev`, found through the state file it writes (.parley-dev.json
      in the checkout, or $PARLEY_DEV_STATE).
--endpoint, --table and --region override the environment.

Usage plans: on AWS, `keys create` also creates an API Gateway API key and binds it to the usage
plan `parley-<stage>-<plan>` (the template's tiers); the authorizer hands that key to API
Gateway, which throttles per key. Elsewhere the plan is only recorded with the key.

Where `replay` reads and writes: ARCHIVE_BUCKET (stack output ArchiveBucketName) and
RECORDS_TABLE set: AWS (or PARLEY_S3_ENDPOINT / PARLEY_DYNAMODB_ENDPOINT); else the running
`make dev`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from devtools import api_cli
from devtools.local import (
    ENDPOINT_VAR,
    ensure_aws_environment,
    local_table,
    running_dev_server,
    state_file,
)
from shared.auth import KeyStore
from shared.dynamo import Deadline, make_client
from shared.errors import BadRequest, StorageUnavailable
from shared.fields import format_timestamp
from shared.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_apigateway import APIGatewayClient
else:
    APIGatewayClient = Any

TABLE_VAR = "API_KEYS_TABLE"
# The usage plan tiers of template.yaml (FreeUsagePlan, ProUsagePlan, EnterpriseUsagePlan).
PLANS = ("free", "pro", "enterprise")
_DEADLINE_SECONDS = 5.0


class CliError(Exception):
    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Target:
    endpoint: str | None
    table: str
    region: str

    def describe(self) -> str:
        where = self.endpoint or f"AWS ({self.region})"
        return f"table {self.table!r} at {where}"


def resolve_target(args: argparse.Namespace) -> Target:
    endpoint = (args.endpoint or os.environ.get(ENDPOINT_VAR, "")).strip() or None
    table = (args.table or os.environ.get(TABLE_VAR, "")).strip()
    if endpoint is None and not table:
        endpoint, table = _running_dev_server()
    if args.region:
        os.environ["AWS_REGION"] = args.region
    ensure_aws_environment(local_endpoint=endpoint is not None)
    return Target(endpoint, table or local_table(TABLE_VAR), os.environ["AWS_REGION"])


def _running_dev_server() -> tuple[str, str]:
    """(DynamoDB endpoint, keys table) of the running `make dev`, from its state file."""
    path = state_file()
    running = running_dev_server(path)
    if running is None:
        raise CliError(
            f"No running `make dev` found (no live server in {path}). Start `make dev` (the CLI "
            f"then finds it), or set {TABLE_VAR} to the deployed keys table (stack output "
            f"ApiKeysTableName) to use AWS, or {ENDPOINT_VAR} for another DynamoDB endpoint.",
            code=2,
        )
    return running.dynamodb_endpoint, running.api_keys_table


def key_store(target: Target) -> KeyStore:
    settings = Settings.from_env().model_copy(
        update={"dynamodb_endpoint": target.endpoint, "aws_region": target.region}
    )
    return KeyStore(make_client(settings), target.table)


def _deadline() -> Deadline:
    return Deadline(_DEADLINE_SECONDS)


# --- commands --------------------------------------------------------------------------------


def apigateway_client(region: str) -> APIGatewayClient:
    return boto3.client("apigateway", region_name=region)


def bind_to_usage_plan(client: APIGatewayClient, plan: str, stage: str, tenant: str) -> str:
    """Create an API Gateway API key on the usage plan `parley-<stage>-<plan>`; its value."""
    name = f"parley-{stage}-{plan}"
    plans = [
        item
        for page in client.get_paginator("get_usage_plans").paginate()
        for item in page.get("items", [])
        if item.get("name") == name
    ]
    if not plans:
        raise CliError(f"No API Gateway usage plan {name!r}: is the stack deployed there?", 2)
    value = secrets.token_hex(20)  # API Gateway wants 20+ characters
    api_key = client.create_api_key(
        name=f"parley-{stage}-{tenant}-{value[:8]}",
        description=f"Parley usage key of tenant {tenant} (plan {plan})",
        enabled=True,
        value=value,
    )
    client.create_usage_plan_key(usagePlanId=plans[0]["id"], keyId=api_key["id"], keyType="API_KEY")
    return value


def cmd_create(args: argparse.Namespace, target: Target) -> int:
    usage_key = None
    if target.endpoint is None:  # AWS: API Gateway throttles the key by its plan
        usage_key = bind_to_usage_plan(
            apigateway_client(target.region), args.plan, args.stage, args.tenant
        )
    try:
        key, info = key_store(target).create(
            args.tenant, _deadline(), plan=args.plan, usage_key=usage_key
        )
    except BadRequest as exc:
        raise CliError(exc.message, code=2) from None
    print(f"Created {info.key_id} for tenant {info.tenant_id} in {target.describe()}:")
    print()
    print(f"    {key}")
    print()
    print("Copy it now: it is not shown again (only its SHA-256 hash is stored).")
    if usage_key is None:
        print(f"Plan {args.plan}: recorded only (no API Gateway, so no throttling here).")
    else:
        print(f"Plan {args.plan}: bound to the usage plan parley-{args.stage}-{args.plan}.")
    return 0


def cmd_list(args: argparse.Namespace, target: Target) -> int:
    keys = key_store(target).list_keys(_deadline(), tenant_id=args.tenant)
    if args.json:
        print(json.dumps([k.listing() for k in keys], indent=2))
        return 0
    if not keys:
        suffix = f" for tenant {args.tenant}" if args.tenant else ""
        print(f"No keys{suffix} in {target.describe()}.")
        return 0
    rows = [("KEY ID", "TENANT", "PREFIX", "PLAN", "CREATED", "STATUS")] + [
        (
            k.key_id,
            k.tenant_id,
            k.prefix + "…",
            k.plan or "-",
            k.created_at,
            f"revoked {k.revoked_at}" if k.revoked_at else "active",
        )
        for k in keys
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    return 0


def cmd_revoke(args: argparse.Namespace, target: Target) -> int:
    before = format_timestamp(datetime.now(UTC))
    info = key_store(target).revoke(args.key, _deadline())
    if info is None:
        raise CliError(f"No key {_shown(args.key)} in {target.describe()}.")
    if info.revoked_at and info.revoked_at < before:
        print(f"{info.key_id} (tenant {info.tenant_id}) was already revoked at {info.revoked_at}.")
        return 0
    print(f"Revoked {info.key_id} (tenant {info.tenant_id}, {info.prefix}…).")
    if target.endpoint is None:
        print(
            "API Gateway may still accept it until its cached authorizer answer expires "
            "(AuthorizerCacheSeconds, 60 s by default)."
        )
    return 0


def cmd_replay(args: argparse.Namespace, _: Target | None) -> int:
    # Imported here: only replay needs the ingest pipeline and rich.
    from rich.console import Console

    from devtools.replay import ReplayError, replay_archive, resolve_replay_target

    until = args.until or datetime.now(UTC).date()
    if args.since > until:
        raise CliError(f"--since {args.since} is after --until {until}", code=2)
    try:
        target = resolve_replay_target(args.bucket, args.records_table)
        summary = replay_archive(target, args.tenant, args.since, until, Console(stderr=True))
    except ReplayError as exc:
        raise CliError(str(exc), code=2) from None
    except StorageUnavailable:
        raise CliError(
            "storage stayed unavailable; run the replay again (it is idempotent)"
        ) from None
    print(
        f"Replayed {summary.requests} archived request(s) of tenant {args.tenant} "
        f"from {args.since} to {until} ({target.describe()}): {summary.records} record(s) "
        f"stored, {summary.refused_events} event(s) refused."
    )
    for key, why in summary.failed:
        print(f"  not replayed: {key}: {why}")
    return 1 if summary.failed else 0


def _shown(key_id_or_key: str) -> str:
    """Never echo a whole key back."""
    if key_id_or_key.startswith("prl_"):
        return f"{key_id_or_key[:12]}…"
    return key_id_or_key


# --- parsing ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    where = argparse.ArgumentParser(add_help=False)
    group = where.add_argument_group("where the keys live")
    group.add_argument(
        "--endpoint", help=f"DynamoDB endpoint (default: ${ENDPOINT_VAR}; unset: AWS)"
    )
    group.add_argument("--table", help=f"keys table (default: ${TABLE_VAR}, or the local one)")
    group.add_argument("--region", help="AWS region (default: $AWS_REGION, else us-east-1)")

    parser = argparse.ArgumentParser(
        prog="parley",
        description="Parley developer tools.",
        epilog=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    keys = commands.add_parser("keys", help="create, list and revoke API keys")
    actions = keys.add_subparsers(dest="action", required=True, metavar="ACTION")

    create = actions.add_parser("create", parents=[where], help="create a key for a tenant")
    create.add_argument("--tenant", required=True, help="tenant id the key authenticates as")
    create.add_argument(
        "--plan", choices=PLANS, default=PLANS[0], help="usage plan tier (default: %(default)s)"
    )
    create.add_argument(
        "--stage",
        default=os.environ.get("PARLEY_STAGE", "prod"),
        help="deployed stage whose usage plan to use (default: $PARLEY_STAGE or prod)",
    )
    create.set_defaults(run=cmd_create)

    listing = actions.add_parser("list", parents=[where], help="list keys (never the keys)")
    listing.add_argument("--tenant", help="only this tenant's keys")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(run=cmd_list)

    revoke = actions.add_parser("revoke", parents=[where], help="revoke a key")
    revoke.add_argument("key", metavar="KEY_ID_OR_KEY", help="key id (key_…) or the key (prl_…)")
    revoke.set_defaults(run=cmd_revoke)

    replay = commands.add_parser(
        "replay", help="re-ingest a tenant's archived request bodies (idempotent)"
    )
    replay.add_argument("--tenant", required=True, help="whose archive to replay")
    replay.add_argument(
        "--since", required=True, type=date.fromisoformat, help="first UTC day, YYYY-MM-DD"
    )
    replay.add_argument(
        "--until", type=date.fromisoformat, help="last UTC day, YYYY-MM-DD (default: today)"
    )
    replay.add_argument("--bucket", help="archive bucket (default: $ARCHIVE_BUCKET or make dev's)")
    replay.add_argument("--records-table", help="records table (default: $RECORDS_TABLE)")
    replay.set_defaults(run=cmd_replay)
    dev = commands.add_parser("dev", help="make dev's data folder")
    dev_actions = dev.add_subparsers(dest="action", required=True, metavar="ACTION")
    dev_reset = dev_actions.add_parser(
        "reset", help="delete everything make dev stored ($PARLEY_DATA_DIR, default .parley/)"
    )
    dev_reset.set_defaults(run=cmd_dev_reset)
    api_cli.add_commands(commands)
    return parser


def cmd_dev_reset(args: argparse.Namespace, _: Target | None) -> int:
    from devtools.durable import DataFolderBusy, data_folder, reset

    folder = data_folder()
    try:
        wiped = reset(folder)
    except DataFolderBusy as exc:
        raise CliError(f"{exc}: stop it (Ctrl-C) first", code=2) from exc
    print(f"emptied {folder}" if wiped else f"{folder} does not exist: nothing to reset")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if hasattr(args, "run_api"):  # the HTTP commands: no key store involved
        return api_cli.run(args)
    # Storage retries log warnings meant for Lambda logs; the CLI reports the outcome itself.
    logging.getLogger("parley").addHandler(logging.NullHandler())
    target: Target | None = None
    try:
        if args.command == "keys":
            target = resolve_target(args)
        code: int = args.run(args, target)
        return code
    except CliError as exc:
        print(f"parley: {exc}", file=sys.stderr)
        return exc.code
    except NoCredentialsError:
        print(
            "parley: no AWS credentials found. Configure them (aws configure / AWS_PROFILE), "
            f"or set {ENDPOINT_VAR} to use a local endpoint.",
            file=sys.stderr,
        )
        return 1
    except ClientError as exc:
        print(f"parley: {_client_error(exc, target)}", file=sys.stderr)
        return 1
    except BotoCoreError as exc:
        print(f"parley: {exc}", file=sys.stderr)
        return 1
    except StorageUnavailable:
        where = target.endpoint if target and target.endpoint else "AWS"
        print(
            f"parley: cannot reach DynamoDB at {where} (tried for {_DEADLINE_SECONDS:.0f} s). "
            "Is `make dev` still running?",
            file=sys.stderr,
        )
        return 1


def _client_error(exc: ClientError, target: Target | None) -> str:
    code = exc.response.get("Error", {}).get("Code", "")
    if code == "ResourceNotFoundException" and target is not None:
        hint = (
            "Is `make dev` running, and is "
            f"{ENDPOINT_VAR} the endpoint it printed? (its table is {local_table(TABLE_VAR)!r})"
            if target.endpoint
            else f"Set {TABLE_VAR} to the stack output ApiKeysTableName (and the right region)."
        )
        return f"{target.describe()} does not exist. {hint}"
    return str(exc)


if __name__ == "__main__":
    sys.exit(main())
