"""Signing and checking a period config (``protocol.messages.PeriodConfig``).

The aggregator signs with its receipt key, the key every agent cached at
enrollment, under a domain of its own: a receipt signature can never pass as
a period config or the other way round. Both sides compute the signed bytes
here, so there is one definition of them: the canonical form of the config
without its signature.
"""

from __future__ import annotations

from dataclasses import replace

from protocol.encoding import canonical_bytes
from protocol.errors import InvalidSignature
from protocol.keys import SigningKey, VerifyKey
from protocol.messages import PeriodConfig

PERIOD_CONFIG_DOMAIN = b"publiek/1 period-config"


def sign_period_config(config: PeriodConfig, key: SigningKey) -> PeriodConfig:
    """The config with ``aggregator_key_id`` set to ``key``'s id and signed by it."""
    unsigned = replace(config, aggregator_key_id=key.public.key_id, signature=b"")
    signature = key.sign(PERIOD_CONFIG_DOMAIN, canonical_bytes(unsigned.body()))
    return replace(unsigned, signature=signature)


def verify_period_config(config: PeriodConfig, receipt_key: VerifyKey) -> None:
    """Raise unless the aggregator's receipt key signed exactly this config."""
    if config.aggregator_key_id != receipt_key.key_id:
        raise InvalidSignature(
            f"the period config for {config.period} names another aggregator key",
            hint="fetch the config from your own aggregator, or check the workspace's key set",
        )
    receipt_key.verify_domain(
        PERIOD_CONFIG_DOMAIN, config.signature, canonical_bytes(config.body())
    )
