"""One purge at a time across all processes and servers: a lease row in the shared database,
renewed inside every batch's transaction, so a run that lost it rolls its batch back."""

import secrets

from server.clock import Clock
from server.db import database
from server.models import ServerState

# A running purge renews its lease every batch; a purge whose process died frees it after this.
LEASE_SECONDS = 120
# A lease further ahead than this was taken under a clock that has since jumped backwards.
_LEASE_HORIZON = 2 * 600 + LEASE_SECONDS
_LEASE = "purge-lease"


class LeaseLost(Exception):
    """Another process took the purge lease over (this one stalled past LEASE_SECONDS)."""


class Lease:
    """The purge lease: `value` names the holder while a purge runs, '' once it is done."""

    def __init__(self, clock: Clock) -> None:
        self.clock, self.token = clock, secrets.token_hex(16)

    def take(self, wait_for_pacing: bool) -> bool:
        """Take it if free; a background purge also respects the pause after the last purge."""
        now = int(self.clock.now())
        free = (ServerState.lease_until < now) | (ServerState.lease_until > now + _LEASE_HORIZON)
        if not wait_for_pacing:
            free = free | (ServerState.value == "")
        with database.atomic():
            ServerState.insert(name=_LEASE, value="", lease_until=0).on_conflict_ignore().execute()
            taken = ServerState.update(value=self.token, lease_until=now + LEASE_SECONDS).where(
                (ServerState.name == _LEASE) & free).execute()
        return taken == 1

    def renew(self) -> None:
        """Call inside the batch's transaction: a lost lease rolls the batch back."""
        renewed = ServerState.update(lease_until=int(self.clock.now()) + LEASE_SECONDS).where(
            ServerState.name == _LEASE, ServerState.value == self.token).execute()
        if renewed != 1:
            raise LeaseLost()

    def release(self, until: int) -> None:
        """Keep other processes away until `until` (paces purges to one per interval)."""
        with database.atomic():
            ServerState.update(value="", lease_until=until).where(
                ServerState.name == _LEASE, ServerState.value == self.token).execute()
