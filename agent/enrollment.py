"""Enrollment: create this agent's keys and register their public halves.

The secret halves are generated here and never leave the workspace (files
with mode 0600). The aggregator learns only the public keys and binds them to
the institution named in the single-use token. The custodian's public key,
when given, is pinned here too, and the aggregator's key set is cached for
the offline path (``publiek agent export``).
"""

from __future__ import annotations

from agent.client import AggregatorClient
from agent.key_set import save_key_set
from agent.sector_keys import pin_custodian
from agent.workspace import AgentConfig, Workspace
from protocol.errors import UsageError
from protocol.keys import SealPrivateKey, SigningKey


def enroll(
    workspace: Workspace, aggregator_url: str, token: str, *, custodian_key: str | None = None
) -> AgentConfig:
    workspace.ensure()
    if workspace.config_path.exists():
        raise UsageError(
            f"{workspace.root} is already enrolled",
            hint="use another --workspace, or remove agent.toml and keys/ to enroll anew",
        )
    if custodian_key is not None:
        pin_custodian(workspace, custodian_key)
    signing = SigningKey.generate()
    sealing = SealPrivateKey.generate()
    with AggregatorClient(aggregator_url) as client:
        answer = client.enroll(token, signing.public, sealing.public)
        key_set = client.key_set()
    signing.save(workspace.signing_key_path)
    sealing.save(workspace.seal_key_path)
    config = AgentConfig(
        institution_id=str(answer["institution_id"]),
        aggregator_url=aggregator_url,
        discipline=str(answer["discipline"]),
        province=str(answer["province"]),
    )
    workspace.save_config(config)
    save_key_set(workspace, key_set)
    return config
