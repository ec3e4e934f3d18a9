"""The typed snapshot of a deployment that every collector reads: `Facts`.

`sumun.comply.gather` builds it once, at the edge, from real state (keys, ledger, store,
configuration, scans, the register); collectors are then pure functions of it, so each can be
tested on state built in a test and the report is consistent (one read of everything).

Every part says where it was read (`origin`) and, when it could not be read, why (`error`):
a collector turns an unreadable part into `ok=None` evidence, never into a pass.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sumun.comply.model import AttestationRecord
from sumun.comply.register import Registration
from sumun.keys.model import KeyRecord
from sumun.policy.profiles import AdmissionRules, Admitted, ProviderProfile
from sumun.store.cuts import CutRecord
from sumun.store.model import App, Tenant, VirtualKey

__all__ = [
    "AppActivity",
    "DirectoryFacts",
    "Facts",
    "KeyFacts",
    "LedgerActivity",
    "LedgerFacts",
    "PiiRuleFact",
    "PolicyFacts",
    "ProviderFacts",
    "Review",
    "ScanFacts",
    "ScanService",
    "SwitchEvent",
    "XksActivity",
    "XksDrill",
    "XksFacts",
    "XksKeyFact",
    "XksKeystoreFact",
]


@dataclass(frozen=True, slots=True)
class KeyFacts:
    """The key layer: how the master key is sealed, the backend, the suite, the KEKs.

    `verified` is False while sealed: the registry was read without its MAC check, and its
    contents MUST NOT decide a requirement (collectors answer `ok=None` then).
    """

    origin: str
    initialised: bool
    sealed: bool
    verified: bool
    method: str | None = None  # "shamir" | "passphrase"
    threshold: int | None = None
    custodians: int | None = None
    backend: str | None = None  # "embedded" | "pkcs11" | "openbao"
    suite: str | None = None  # the deployment's suite (home.json)
    backend_ok: bool | None = None
    backend_error: str | None = None
    keys: tuple[KeyRecord, ...] = ()
    error: str | None = None


@dataclass(frozen=True, slots=True)
class SwitchEvent:
    seq: int
    provider: str
    action: str  # "cut" | "restore"
    time_ms: int
    actor: str


@dataclass(frozen=True, slots=True)
class Review:
    """An oversight review (AI Basic Act art. 34(4)): a ledger entry of its own."""

    seq: int
    tenant: str
    app: str
    reviewed_seq: int
    reviewer: str  # the auditor key id
    reviewer_user: str
    flag: bool
    decision: str
    time_ms: int
    annotated: bool  # an encrypted annotation is attached


@dataclass(frozen=True, slots=True)
class AppActivity:
    requests: int = 0
    first_ms: int | None = None
    last_ms: int | None = None
    classes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class XksDrill:
    """A kill-switch drill on an external key: a `key-event` disable of the key, then (when it
    was re-enabled) the `key-event` enable that ended it, and the XKS calls on that key refused
    with InvalidStateException in between (AWS asked while the key was cut)."""

    key_id: str
    disabled_seq: int
    disabled_ms: int
    disabled_by: str
    enabled_seq: int | None = None  # None: not re-enabled (yet): the key is still cut
    enabled_ms: int | None = None
    enabled_by: str | None = None
    refusals: int = 0  # xks entries on the key answered InvalidStateException meanwhile
    first_refusal_ms: int | None = None
    last_refusal_ms: int | None = None

    @property
    def complete(self) -> bool:
        return self.enabled_ms is not None


@dataclass(frozen=True, slots=True)
class XksActivity:
    """The `xks` ledger entries (one per AWS KMS call to the XKS proxy), in the clear.

    `with_metadata` counts calls that carry AWS's `requestMetadata` (a kmsRequestId, which
    correlates with CloudTrail); GetHealthStatus carries none. Principals and kmsViaService
    values are AWS's strings as recorded, at most `MAX_DISTINCT` of each (`principals_more`
    counts the calls of the others)."""

    MAX_DISTINCT = 200

    calls: int = 0
    by_operation: dict[str, dict[str, int]] = field(default_factory=dict)  # op -> outcome -> n
    with_metadata: int = 0
    principals: dict[str, int] = field(default_factory=dict)  # awsPrincipalArn -> calls
    principals_more: int = 0
    via_services: dict[str, int] = field(default_factory=dict)  # kmsViaService -> calls
    first_ms: int | None = None
    last_ms: int | None = None
    drills: tuple[XksDrill, ...] = ()  # oldest first

    def outcomes(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for outcomes in self.by_operation.values():
            for outcome, n in outcomes.items():
                total[outcome] = total.get(outcome, 0) + n
        return dict(sorted(total.items()))


@dataclass(frozen=True, slots=True)
class LedgerActivity:
    """What the entries say (clear metadata only; no payload is decrypted)."""

    by_kind: dict[str, int] = field(default_factory=dict)
    classes_seen: dict[str, int] = field(default_factory=dict)  # request-admitted by class
    apps: dict[str, AppActivity] = field(default_factory=dict)  # "tenant/app" -> activity
    switch_events: tuple[SwitchEvent, ...] = ()
    reviews: tuple[Review, ...] = ()
    # Entries that did not parse — of the kinds the pass reads, or whose kind cannot be told
    # from their bytes; other kinds are counted unparsed (fsck checks every entry's bytes).
    unreadable: int = 0
    # Stored payloads by the suite in their envelope header (read without keys); payloads
    # that are not envelopes at all would be plaintext at rest.
    payload_suites: dict[str, int] = field(default_factory=dict)
    payload_not_envelope: int = 0
    xks: XksActivity = field(default_factory=XksActivity)


@dataclass(frozen=True, slots=True)
class LedgerFacts:
    origin: str
    store: str  # "sqlite" | "postgres"
    location: str
    durability: str  # "strict" | "batched"
    batch_delay_ms: int
    size: int = 0
    verified: bool | None = None  # None: could not run the verification
    verify_error: str | None = None
    first_bad_seq: int | None = None
    verify_seconds: float = 0.0
    checkpoints: int = 0
    payloads: int = 0
    latest_checkpoint_size: int | None = None
    latest_checkpoint_ms: int | None = None
    signing_algs: tuple[str, ...] = ()  # "ed25519", "ecdsa-p256"
    activity: LedgerActivity = field(default_factory=LedgerActivity)
    error: str | None = None  # the store could not be opened or read


@dataclass(frozen=True, slots=True)
class DirectoryFacts:
    """store.db: tenants (AI notice, limits, default class), apps, virtual keys, cuts."""

    origin: str
    exists: bool
    tenants: tuple[Tenant, ...] = ()
    apps: tuple[App, ...] = ()
    keys: tuple[VirtualKey, ...] = ()
    cuts: tuple[CutRecord, ...] = ()
    redis_url: bool = False  # kill switch fan-out through Redis configured
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ProviderFacts:
    name: str
    kind: str
    base_url: str | None
    declared: bool  # a profile is declared (or built in, for the demo provider)
    profile: ProviderProfile
    admitted: Admitted
    routes: tuple[str, ...] = ()  # model aliases it serves

    @property
    def foreign(self) -> bool:
        """Operated from outside Korea, or from an unknown jurisdiction."""
        return self.profile.jurisdiction != "KR"

    @property
    def outside_korea(self) -> bool:
        """Processes data outside Korea (or nobody said where)."""
        return self.profile.hosting not in ("on-prem", "kr-region")


@dataclass(frozen=True, slots=True)
class PiiRuleFact:
    """One PII rule of the policy in force: which types, what action, for which providers."""

    id: str
    types: tuple[str, ...]
    action: str
    when: str  # "any provider" or a description of the condition
    outside: bool  # can apply to a provider hosted outside the organization (kr-region/abroad)
    providers: tuple[str, ...] = ()  # the configured providers its condition matches


@dataclass(frozen=True, slots=True)
class PolicyFacts:
    origin: str
    providers: tuple[ProviderFacts, ...]
    rules: AdmissionRules
    unique_identifiers: frozenset[str]  # types that raise a request to at least S
    floor_class: str = "S"
    pii_rules: tuple[PiiRuleFact, ...] = ()  # first match wins, per type and provider
    pii_default: str = "allow"
    output_scan: bool = True
    pseudonym_retention_days: float = 0.0
    pseudonym_tables: int | None = None  # sealed tables in pseudonyms.db; None: no vault file
    error: str | None = None  # the policy file does not validate (built-in policy shown)


@dataclass(frozen=True, slots=True)
class ScanService:
    name: str
    provider: str | None
    jurisdiction: str | None
    paths: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ScanFacts:
    origin: str
    scanned_at: float | None = None
    root: str | None = None
    by_severity: dict[str, int] = field(default_factory=dict)
    worst_findings: tuple[tuple[str, str, str], ...] = ()  # (severity, rule, path), worst first
    components: dict[str, int] = field(default_factory=dict)  # type -> count
    services: tuple[ScanService, ...] = ()
    error: str | None = None
    # The path that was scanned: absolute when `sumun scan --record` recorded it (resolved
    # then), else the root as the result names it; None when the result does not say.
    target: str | None = None

    @property
    def named(self) -> str:
        """ "the scan of PATH on DATE", for evidence lines (the path and when, always)."""
        where = self.target or "an unnamed path"
        if self.scanned_at is None:
            return f"the scan of {where}"
        stamp = dt.datetime.fromtimestamp(self.scanned_at, tz=dt.UTC)
        return f"the scan of {where} on {stamp:%Y-%m-%d %H:%M} UTC"


@dataclass(frozen=True, slots=True)
class XksKeystoreFact:
    """A logical keystore (what AWS's CreateCustomKeyStore points at). Credentials are
    counted, never shown — not even their sealed secrets."""

    name: str
    uri_prefix: str
    created_at: float
    active_credentials: int
    revoked_credentials: int


@dataclass(frozen=True, slots=True)
class XksKeyFact:
    """An external key: its XKS row joined with the key registry's record of the same id."""

    key_id: str
    keystore: str
    usage: str  # both | encrypt | decrypt | none
    created_at: float
    state: str | None  # the registry's state; None: the registry has no such key
    backend: str | None  # where the key lives (the registry's record); None: unknown


@dataclass(frozen=True, slots=True)
class XksFacts:
    """The AWS KMS External Key Store proxy: keystores, credentials (counts), external keys.

    `configured` is True when at least one keystore exists; `listen` is `xks.listen` from
    sumun.yaml (None: this node serves no XKS listener). The key states come from the key
    registry read for `KeyFacts`: decided on only when that read was verified.
    """

    origin: str
    configured: bool = False
    listen: str | None = None
    keystores: tuple[XksKeystoreFact, ...] = ()
    keys: tuple[XksKeyFact, ...] = ()
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything the collectors may look at, read once."""

    now: float
    home: str
    config_file: str | None
    keys: KeyFacts
    ledger: LedgerFacts
    directory: DirectoryFacts
    policy: PolicyFacts
    scan: ScanFacts | None  # the deployment's newest scan; None: no scan recorded
    register: tuple[Registration, ...] = ()
    register_origin: str = ""
    attestations: tuple[AttestationRecord, ...] = ()
    routes: tuple[str, ...] = ()
    xks: XksFacts = field(default_factory=lambda: XksFacts(origin="not read"))
    # Scans of the deployment's model locations (`comply.model_paths`), newest per path,
    # newest first; empty: just `scan`. `other_scans` are shown apart and never count.
    scans: tuple[ScanFacts, ...] = ()
    other_scans: tuple[ScanFacts, ...] = ()
    model_paths: tuple[str, ...] = ()
    system_name: str = "Sumun"

    @property
    def deployment_scans(self) -> tuple[ScanFacts, ...]:
        if self.scans:
            return self.scans
        return () if self.scan is None else (self.scan,)

    def registration(self, subject: str) -> Registration | None:
        return next((r for r in self.register if r.subject == subject), None)
