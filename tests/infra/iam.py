"""Reading IAM roles of the SAM-translated template."""

from __future__ import annotations

from typing import Any


def inline_statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    """Every statement of a role's inline policies, both branches of a conditional one
    (`Fn::If`, e.g. the insights worker's optional Bedrock permission)."""
    policies: list[Any] = []
    for policy in role["Properties"].get("Policies", []):
        if "Fn::If" in policy:
            policies += [
                p for p in policy["Fn::If"][1:] if isinstance(p, dict) and "PolicyDocument" in p
            ]
        else:
            policies.append(policy)
    return [statement for policy in policies for statement in policy["PolicyDocument"]["Statement"]]
