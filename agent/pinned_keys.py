"""Public keys an institution pins in its workspace, as given out of band.

The custodian's key (sector keys) and the taskforce's model key (segment
model releases) are both handed to the institution out of band and then
trusted for everything signed with them; both are pinned the same way: once,
owner-only, and never replaced by a different key without a person removing
the file after checking with the taskforce.
"""

from __future__ import annotations

from pathlib import Path

from protocol.errors import MalformedMessage, UsageError
from protocol.keys import VerifyKey, fingerprint
from protocol.state_files import write_private


def pin(path: Path, key_text: str, *, what: str, copy_hint: str) -> VerifyKey:
    """Pin the key in ``key_text`` at ``path``; pinning the same key again is a no-op,
    a different one is refused. ``what`` names the key in messages ("custodian key")."""
    try:
        key = VerifyKey.from_text(key_text.strip())
    except MalformedMessage as exc:
        raise UsageError(
            f"the {what} is not a base64url Ed25519 public key", hint=copy_hint
        ) from exc
    if path.exists():
        pinned = read_pinned(path)
        if pinned != key:
            raise UsageError(
                f"another {what} ({fingerprint(pinned)}) is already pinned",
                hint=f"remove {path.name} from the workspace only after confirming with the "
                "taskforce out of band",
            )
        return key
    write_private(path, (key.to_text() + "\n").encode("ascii"))
    return key


def read_pinned(path: Path) -> VerifyKey:
    """The key pinned at ``path`` (the caller checks that one is)."""
    return VerifyKey.from_text(path.read_text(encoding="ascii").strip())
