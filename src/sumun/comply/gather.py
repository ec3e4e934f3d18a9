"""Read a deployment's real state once, into `Facts` (the only I/O of the assessment).

    keys       the key layer's status (home.json + registry; verified when unsealed or read
               through a running Sumun's admin channel) — passed in by the caller
    ledger     `fsck` of every entry (the same verification as `sumun ledger verify`), the
               latest signed checkpoint, the signing algorithms, and one pass over the clear
               metadata (kill-switch events, oversight reviews, data classes seen, app traffic)
    directory  store.db: tenants, apps, virtual keys, provider cuts
    policy     providers' declared profiles and what each is admitted for (`admit_profile`;
               `gather_policy`)
    xks        the XKS proxy's keystores, credential counts and external keys (control store),
               each key's state and backend from the key registry; its calls and kill-switch
               drills come from the same pass over the ledger
    scan       the recorded scans under `$SUMUN_HOME/scans/` (or the file given), split into
               the deployment's and other scans (`comply.scans.scan_scope`)
    register   `comply/register.json`; attestations `comply/attestations.json`

Nothing here decides anything: a part that cannot be read is recorded with its error.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sumun.comply.attest import Attestations
from sumun.comply.facts import (
    AppActivity,
    DirectoryFacts,
    Facts,
    KeyFacts,
    LedgerActivity,
    LedgerFacts,
    Review,
    SwitchEvent,
    XksActivity,
    XksDrill,
    XksFacts,
    XksKeyFact,
    XksKeystoreFact,
)
from sumun.comply.gather_policy import policy_facts
from sumun.comply.oversight import review_from_entry
from sumun.comply.register import Register
from sumun.comply.scans import scan_scope
from sumun.config import Settings
from sumun.errors import DecryptionError, LedgerIntegrityError, SumunError
from sumun.keys import envelope
from sumun.keys.model import KeyRecord
from sumun.ledger import signing
from sumun.ledger.entry import EntryKind
from sumun.ledger.fsck import fsck
from sumun.ledger.note import ALG_ECDSA, ALG_ED25519, Verifier
from sumun.ledger.store.base import LedgerStore
from sumun.runtime import ledger_origin, open_store
from sumun.store.control import documents_for, open_control
from sumun.store.cuts import CutTable
from sumun.store.database import Database
from sumun.store.directory import Directory
from sumun.store.xks import XksStore

__all__ = ["gather", "key_facts", "ledger_activity", "policy_facts", "xks_facts"]

_ALG_NAMES = {ALG_ED25519: "ed25519", ALG_ECDSA: "ecdsa-p256"}


def key_facts(status: Mapping[str, Any], origin: str) -> KeyFacts:
    """KeyFacts from a key status in `KeyStatus.to_json()` shape (direct or admin channel)."""
    if not status.get("initialised"):
        return KeyFacts(origin=origin, initialised=False, sealed=True, verified=False)
    try:
        keys = tuple(KeyRecord.from_json(k) for k in status.get("keys") or ())
    except (KeyError, TypeError, ValueError) as exc:
        return KeyFacts(
            origin=origin, initialised=True, sealed=True, verified=False, error=str(exc)
        )
    return KeyFacts(
        origin=origin,
        initialised=True,
        sealed=bool(status.get("sealed")),
        verified=bool(status.get("verified")),
        method=status.get("method"),
        threshold=status.get("threshold"),
        custodians=status.get("custodians"),
        backend=status.get("backend"),
        suite=status.get("suite"),
        backend_ok=status.get("backend_ok"),
        backend_error=status.get("backend_error"),
        keys=keys,
    )


_XKS_CREATE = "xks-key-create"
_INVALID_STATE = "InvalidStateException"


class _XksScan:
    """The XKS part of the ledger pass: calls by operation and outcome, AWS principals and
    kmsViaService values, and kill-switch drills — a key-level `disable` key-event of an
    external key, the calls on it refused InvalidStateException meanwhile, and the `enable`
    (or `cancel-destroy`) that ended it. Entries arrive in seq order, so drills are paired
    as they stream by (nothing is kept per call)."""

    def __init__(self, keys: Iterable[str]) -> None:
        self.keys = set(keys)  # external key ids: the store's, and any the ledger names
        self.calls = 0
        self.by_operation: dict[str, dict[str, int]] = {}
        self.with_metadata = 0
        self.principals: dict[str, int] = {}
        self.principals_more = 0
        self.via: dict[str, int] = {}
        self.first_ms: int | None = None
        self.last_ms: int | None = None
        self.open: dict[str, dict[str, Any]] = {}  # key id -> the drill under way
        self.drills: list[XksDrill] = []

    def call(self, obj: Mapping[str, Any], attrs: Mapping[str, Any], time_ms: int) -> None:
        self.calls += 1
        operation = str(attrs.get("operation") or "?")
        outcome = str(attrs.get("outcome") or obj.get("decision") or "?")
        outcomes = self.by_operation.setdefault(operation, {})
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if attrs.get("kmsRequestId"):
            self.with_metadata += 1
        principal = attrs.get("awsPrincipalArn")
        if isinstance(principal, str) and principal:
            if principal in self.principals or len(self.principals) < XksActivity.MAX_DISTINCT:
                self.principals[principal] = self.principals.get(principal, 0) + 1
            else:
                self.principals_more += 1
        via = attrs.get("kmsViaService")
        if (
            isinstance(via, str)
            and via
            and (via in self.via or len(self.via) < XksActivity.MAX_DISTINCT)
        ):
            self.via[via] = self.via.get(via, 0) + 1
        if self.first_ms is None:
            self.first_ms = time_ms
        self.last_ms = time_ms if self.last_ms is None else max(self.last_ms, time_ms)
        key_id = attrs.get("key_id")
        if isinstance(key_id, str) and key_id:
            self.keys.add(key_id)
            drill = self.open.get(key_id)
            if drill is not None and outcome == _INVALID_STATE:
                drill["refusals"] += 1
                drill["first_refusal_ms"] = drill["first_refusal_ms"] or time_ms
                drill["last_refusal_ms"] = time_ms

    def key_event(self, seq: int, attrs: Mapping[str, Any], time_ms: int) -> None:
        key_id, action = attrs.get("key_id"), attrs.get("action")
        if not isinstance(key_id, str) or key_id not in self.keys or "version" in attrs:
            return  # not an external key, or one version only (not the key's cut)
        actor = str(attrs.get("actor") or "")
        if action == "disable" and key_id not in self.open:
            self.open[key_id] = {
                "key_id": key_id,
                "disabled_seq": seq,
                "disabled_ms": time_ms,
                "disabled_by": actor,
                "refusals": 0,
                "first_refusal_ms": None,
                "last_refusal_ms": None,
            }
        elif action in ("enable", "cancel-destroy") and key_id in self.open:
            drill = self.open.pop(key_id)
            self.drills.append(
                XksDrill(**drill, enabled_seq=seq, enabled_ms=time_ms, enabled_by=actor)
            )
        elif action == "destroy":
            self.open.pop(key_id, None)  # crypto-shredded: a cut for good, not a drill

    def result(self) -> XksActivity:
        drills = self.drills + [XksDrill(**d) for d in self.open.values()]
        return XksActivity(
            calls=self.calls,
            by_operation={
                op: dict(sorted(outcomes.items()))
                for op, outcomes in sorted(self.by_operation.items())
            },
            with_metadata=self.with_metadata,
            principals=dict(sorted(self.principals.items())),
            principals_more=self.principals_more,
            via_services=dict(sorted(self.via.items())),
            first_ms=self.first_ms,
            last_ms=self.last_ms,
            drills=tuple(sorted(drills, key=lambda d: d.disabled_seq)),
        )


# The kinds whose contents the pass reads; every other entry is only counted by its kind.
_PARSED = frozenset(
    k.value
    for k in (
        EntryKind.REQUEST_ADMITTED,
        EntryKind.XKS,
        EntryKind.KEY_EVENT,
        EntryKind.ADMIN_CHANGE,
        EntryKind.OVERSIGHT_REVIEW,
    )
)
_KIND = b'"kind":"'


def _kind_of(raw: bytes) -> str | None:
    """An entry's kind told from its canonical bytes, without parsing them (None: not found).

    Keys are sorted, so `kind` follows `attrs`; a quote inside a string value is escaped, so
    the last `"kind":"` is the entry's own even when an attribute is named "kind"."""
    at = raw.rfind(_KIND)
    if at < 0:
        return None
    start = at + len(_KIND)
    end = raw.find(b'"', start)
    if end < 0:
        return None
    try:
        return raw[start:end].decode("ascii")
    except UnicodeDecodeError:
        return None


class _Pass:
    """The accumulators of `ledger_activity`, one method per entry kind that matters."""

    def __init__(self, xks_keys: Iterable[str]) -> None:
        self.by_kind: dict[str, int] = {}
        self.classes: dict[str, int] = {}
        self.apps: dict[str, dict[str, Any]] = {}
        self.switches: list[SwitchEvent] = []
        self.reviews: list[Review] = []
        self.unreadable = 0
        self.suites: dict[str, int] = {}
        self.not_envelope = 0
        self.xks = _XksScan(xks_keys)

    def payload(self, payload: bytes) -> None:
        try:
            header, _end = envelope.parse(payload)
        except DecryptionError:
            self.not_envelope += 1
        else:
            self.suites[header.suite.value] = self.suites.get(header.suite.value, 0) + 1

    def admitted(self, obj: Mapping[str, Any], attrs: Mapping[str, Any], time_ms: int) -> None:
        data_class = obj.get("data_class")
        if isinstance(data_class, str):
            self.classes[data_class] = self.classes.get(data_class, 0) + 1
        subject = f"{obj.get('tenant')}/{attrs.get('app') or ''}"
        seen = self.apps.setdefault(subject, {"n": 0, "first": time_ms, "classes": set()})
        seen["n"] += 1
        seen["last"] = time_ms
        if isinstance(data_class, str):
            seen["classes"].add(data_class)

    def admin_change(
        self, seq: int, obj: Mapping[str, Any], attrs: Mapping[str, Any], time_ms: int
    ) -> None:
        action = str(attrs.get("action", ""))
        if action.startswith("provider-"):
            self.switches.append(
                SwitchEvent(
                    seq=seq,
                    provider=str(obj.get("provider") or ""),
                    action=action.removeprefix("provider-"),
                    time_ms=time_ms,
                    actor=str(attrs.get("actor", "")),
                )
            )
        elif action == _XKS_CREATE and isinstance(attrs.get("key_id"), str):
            self.xks.keys.add(attrs["key_id"])

    def entry(self, seq: int, raw: bytes) -> None:
        kind = _kind_of(raw)
        if kind is not None and kind not in _PARSED:
            self.by_kind[kind] = self.by_kind.get(kind, 0) + 1  # counted, not parsed
            return
        try:
            obj = json.loads(raw)
            kind = str(obj["kind"])
            attrs = obj.get("attrs") or {}
            time_ms = int(obj.get("time_ms") or 0)
            if not isinstance(attrs, dict):
                raise TypeError("attrs is not an object")
        except (ValueError, KeyError, TypeError, AttributeError):
            self.unreadable += 1
            return
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
        if kind == EntryKind.REQUEST_ADMITTED.value:
            self.admitted(obj, attrs, time_ms)
        elif kind == EntryKind.XKS.value:
            self.xks.call(obj, attrs, time_ms)
        elif kind == EntryKind.KEY_EVENT.value:
            self.xks.key_event(seq, attrs, time_ms)
        elif kind == EntryKind.ADMIN_CHANGE.value:
            self.admin_change(seq, obj, attrs, time_ms)
        elif kind == EntryKind.OVERSIGHT_REVIEW.value:
            review = review_from_entry(seq, obj)
            if review is not None:
                self.reviews.append(review)

    def result(self) -> LedgerActivity:
        return LedgerActivity(
            by_kind=dict(sorted(self.by_kind.items())),
            classes_seen=dict(sorted(self.classes.items())),
            apps={
                subject: AppActivity(
                    requests=v["n"],
                    first_ms=v["first"],
                    last_ms=v.get("last"),
                    classes=tuple(sorted(v["classes"])),
                )
                for subject, v in sorted(self.apps.items())
            },
            switch_events=tuple(self.switches),
            reviews=tuple(self.reviews),
            unreadable=self.unreadable,
            payload_suites=dict(sorted(self.suites.items())),
            payload_not_envelope=self.not_envelope,
            xks=self.xks.result(),
        )


def ledger_activity(
    store: LedgerStore, size: int, *, xks_keys: Iterable[str] = ()
) -> LedgerActivity:
    """One pass over the entries' clear metadata (no keys needed). `xks_keys`: the external
    key ids the control store lists (the ledger's own `xks-key-create` entries add to them)."""
    scan = _Pass(xks_keys)
    for stored in store.entries(0, size):
        if stored.payload is not None:
            scan.payload(stored.payload)
        scan.entry(stored.seq, stored.entry)
    return scan.result()


def _ledger_facts(settings: Settings, xks_keys: Iterable[str] = ()) -> LedgerFacts:
    conf = settings.ledger
    location = (
        str(settings.home / "ledger" / "ledger.db")
        if conf.store == "sqlite"
        else f"PostgreSQL schema {conf.postgres_schema} (DSN from ${conf.postgres_dsn_env})"
    )
    base: dict[str, Any] = {
        "store": conf.store,
        "location": location,
        "durability": conf.durability,
        "batch_delay_ms": conf.batch_delay_ms,
    }
    try:
        store = open_store(settings)
    except SumunError as exc:
        return LedgerFacts(origin=f"ledger store ({location})", error=str(exc), **base)
    origin = f"ledger fsck of {location}"
    try:
        try:
            vkeys = signing.public_vkeys(documents_for(settings))
            verifiers = [Verifier.from_vkey(v) for v in vkeys]
            algs = tuple(_ALG_NAMES.get(v.alg, f"0x{v.alg:02x}") for v in verifiers)
            report = fsck(store, verifiers, origin=ledger_origin(settings))
        except LedgerIntegrityError as exc:
            size = store.size()
            return LedgerFacts(
                origin=origin,
                size=size,
                verified=False,
                verify_error=str(exc),
                first_bad_seq=exc.seq,
                signing_algs=algs,
                activity=ledger_activity(store, size, xks_keys=xks_keys),
                **base,
            )
        except (SumunError, ValueError) as exc:
            return LedgerFacts(origin=origin, size=store.size(), error=str(exc), **base)
        latest = store.latest_checkpoint()
        return LedgerFacts(
            origin=f"{origin} ({report.size:,} entries, {report.seconds:.2f} s)",
            size=report.size,
            verified=True,
            verify_seconds=report.seconds,
            checkpoints=report.checkpoints,
            payloads=report.payloads,
            latest_checkpoint_size=latest.size if latest else None,
            latest_checkpoint_ms=latest.time_ms if latest else None,
            signing_algs=algs,
            activity=ledger_activity(store, report.size, xks_keys=xks_keys),
            **base,
        )
    finally:
        store.close()


def _xks_tables(db: Database) -> bool:
    """Whether the XKS tables exist: `XksStore` creates them when opened, and a report must
    not add them to a deployment that never used XKS."""
    if db.name == "postgres":
        rows = db.read("SELECT to_regclass('xks_keystores') IS NOT NULL")
    else:
        rows = db.read(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'xks_keystores'"
        )
    return bool(rows and rows[0][0])


def xks_facts(settings: Settings, keys: KeyFacts) -> XksFacts:
    """The XKS tables of the control store (never a secret: credentials are counted), each
    external key joined with its key-registry record in `keys` (state, backend)."""
    path = settings.home / "store.db"
    shared = settings.control.store != "sqlite"
    where = "the shared control store" if shared else str(path)
    origin = f"XKS tables in {where}; key states from {keys.origin}"
    listen = settings.xks.listen
    if not shared and not path.exists():
        return XksFacts(origin=origin, listen=listen)
    try:
        db = open_control(settings).database()
        try:
            if not _xks_tables(db):
                return XksFacts(origin=origin, listen=listen)
            store = XksStore(db)
            keystores = store.keystores()
            credentials = store.credentials()
            external = store.external_keys()
        finally:
            db.close()
    except SumunError as exc:
        return XksFacts(origin=origin, listen=listen, error=str(exc))
    records = {k.key_id: k for k in keys.keys}
    active: dict[str, int] = {}
    revoked: dict[str, int] = {}
    for credential in credentials:
        counts = active if credential.active else revoked
        counts[credential.keystore] = counts.get(credential.keystore, 0) + 1
    return XksFacts(
        origin=origin,
        configured=bool(keystores),
        listen=listen,
        keystores=tuple(
            XksKeystoreFact(
                name=k.name,
                uri_prefix=k.uri_prefix,
                created_at=k.created_at,
                active_credentials=active.get(k.name, 0),
                revoked_credentials=revoked.get(k.name, 0),
            )
            for k in keystores
        ),
        keys=tuple(
            XksKeyFact(
                key_id=row.key_id,
                keystore=row.keystore,
                usage=row.usage,
                created_at=row.created_at,
                state=None if (record := records.get(row.key_id)) is None else record.state.value,
                backend=None if record is None else record.backend,
            )
            for row in external
        ),
    )


def _directory_facts(settings: Settings) -> DirectoryFacts:
    path = settings.home / "store.db"
    shared = settings.control.store != "sqlite"
    origin = (
        "tenant directory in the shared control store" if shared else f"tenant directory {path}"
    )
    redis = settings.gateway.redis_url is not None
    if not shared and not path.exists():
        return DirectoryFacts(origin=origin, exists=False, redis_url=redis)
    try:
        control = open_control(settings)
        with Directory(control.database()) as directory:
            tenants = tuple(directory.list_tenants())
            apps = tuple(directory.list_apps())
            keys = tuple(directory.list_keys())
        cuts_table = CutTable(control.database())
        try:
            cuts = tuple(sorted(cuts_table.read().values(), key=lambda c: c.name))
        finally:
            cuts_table.close()
    except SumunError as exc:
        return DirectoryFacts(origin=origin, exists=True, redis_url=redis, error=str(exc))
    return DirectoryFacts(
        origin=origin,
        exists=True,
        tenants=tenants,
        apps=apps,
        keys=keys,
        cuts=cuts,
        redis_url=redis,
    )


def gather(
    settings: Settings,
    *,
    key_status: Mapping[str, Any],
    key_origin: str,
    scan_file: Path | None = None,
    now: float | None = None,
) -> Facts:
    """Read everything the collectors need. `key_status` is `KeyStatus.to_json()`'s shape."""
    home = settings.home
    register = Register(documents_for(settings))
    keys = key_facts(key_status, key_origin)
    xks = xks_facts(settings, keys)
    base = settings.config_file.parent if settings.config_file else home
    scans = scan_scope(
        home, [(base / p).resolve() for p in settings.comply.model_paths], scan_file=scan_file
    )
    return Facts(
        now=time.time() if now is None else now,
        home=str(home),
        config_file=str(settings.config_file) if settings.config_file else None,
        keys=keys,
        ledger=_ledger_facts(settings, (k.key_id for k in xks.keys)),
        directory=_directory_facts(settings),
        policy=policy_facts(settings),
        scan=scans.scans[0] if scans.scans else None,
        scans=scans.scans,
        other_scans=scans.others,
        model_paths=scans.model_paths,
        system_name=settings.comply.system_name or f"Sumun at {socket.gethostname()}",
        register=register.load(),
        register_origin=str(register.path),
        attestations=Attestations(documents_for(settings)).load(),
        routes=tuple(r.model for r in settings.routes),
        xks=xks,
    )
