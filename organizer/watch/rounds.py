"""What one round of the watch is about and what it brings back: the target the keystore pins,
the clients it poses as, and the findings and totals of the round (organizer/watch/check.py runs
it, organizer/watch/visit.py makes each visit)."""

from dataclasses import dataclass, field
from pathlib import Path

from organizer.watch.profiles import PROFILES, Profile

LANGUAGE_NAMES = {"en": "English", "es": "Spanish"}


@dataclass(frozen=True)
class Target:
    """What the organizer's keystore pins: the server, the coalition and its signing key."""

    origin: str
    coalition_id: str
    signing_public: bytes
    campaign_ids: tuple[str, ...]


@dataclass(frozen=True)
class Client:
    profile: Profile
    lang: str

    @property
    def name(self) -> str:
        return f"{self.profile.name}, {LANGUAGE_NAMES[self.lang]}"


CLIENTS = tuple(Client(p, lang) for p in PROFILES for lang in ("en", "es"))


@dataclass(frozen=True)
class Finding:
    campaign_id: str
    client: str
    what: str
    evidence: Path | None = None

    def line(self) -> str:
        """The CLI's stdout line: campaign id, the client posed as, what differed."""
        return f"{self.campaign_id}\t{self.client}\t{self.what}"


@dataclass
class Round:
    findings: list[Finding] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)
    requests: int = 0
    wire_bytes: int = 0
    visits: int = 0
    paths: list[str] = field(default_factory=list)  # what was fetched, in order (bench_watch.py)
    onions: set[str] = field(default_factory=set)  # Onion-Location addresses offered this round
