"""Read a deployment's real state once, into `Facts` (the only I/O of the assessment).

    keys       the key layer's status (home.json + registry; verified when unsealed or read
               through a running Sumun's admin channel) — passed in by the caller
    ledger     `fsck` of every entry (the same verification as `sumun ledger verify`), the
               latest signed checkpoint, the signing algorithms, and one pass over the clear
               metadata (kill-switch events, oversight reviews, data classes seen, app traffic)
    directory  store.db: tenants, apps, virtual keys, provider cuts
    policy     providers' declared profiles and what each is admitted for (`admit_profile`)
    scan       `$SUMUN_HOME/scans/latest.json` (or the file given)
    register   `comply/register.json`; attestations `comply/attestations.json`

Nothing here decides anything: a part that cannot be read is recorded with its error.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
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
    PiiRuleFact,
    PolicyFacts,
    ProviderFacts,
    SwitchEvent,
)
from sumun.comply.oversight import review_from_entry
from sumun.comply.register import Register
from sumun.comply.scans import LATEST, SCANS_DIR, read_scan
from sumun.config import Settings, load_policy, policy_path
from sumun.errors import ConfigError, DecryptionError, LedgerIntegrityError, SumunError
from sumun.keys import envelope
from sumun.keys.model import KeyRecord
from sumun.ledger import signing
from sumun.ledger.entry import EntryKind
from sumun.ledger.fsck import fsck
from sumun.ledger.note import ALG_ECDSA, ALG_ED25519, Verifier
from sumun.ledger.store.base import LedgerStore
from sumun.policy.profiles import ProviderProfile, admit_profile
from sumun.policy.rules import DEFAULT_POLICY, Policy, Where
from sumun.runtime import ledger_origin, open_store
from sumun.store.control import documents_for, open_control
from sumun.store.cuts import CutTable
from sumun.store.directory import Directory
from sumun.store.pseudonyms import PseudonymVault

__all__ = ["gather", "key_facts", "ledger_activity", "policy_facts"]

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


def ledger_activity(store: LedgerStore, size: int) -> LedgerActivity:
    """One pass over the entries' clear metadata (no keys needed)."""
    by_kind: dict[str, int] = {}
    classes: dict[str, int] = {}
    apps: dict[str, dict[str, Any]] = {}
    switches: list[SwitchEvent] = []
    reviews = []
    unreadable = 0
    suites: dict[str, int] = {}
    not_envelope = 0
    for stored in store.entries(0, size):
        if stored.payload is not None:
            try:
                header, _end = envelope.parse(stored.payload)
            except DecryptionError:
                not_envelope += 1
            else:
                suites[header.suite.value] = suites.get(header.suite.value, 0) + 1
        try:
            obj = json.loads(stored.entry)
            kind = str(obj["kind"])
            attrs = obj.get("attrs") or {}
            time_ms = int(obj.get("time_ms") or 0)
        except (ValueError, KeyError, TypeError, AttributeError):
            unreadable += 1
            continue
        by_kind[kind] = by_kind.get(kind, 0) + 1
        if kind == EntryKind.REQUEST_ADMITTED.value:
            data_class = obj.get("data_class")
            if isinstance(data_class, str):
                classes[data_class] = classes.get(data_class, 0) + 1
            subject = f"{obj.get('tenant')}/{attrs.get('app') or ''}"
            seen = apps.setdefault(subject, {"n": 0, "first": time_ms, "classes": set()})
            seen["n"] += 1
            seen["last"] = time_ms
            if isinstance(data_class, str):
                seen["classes"].add(data_class)
        elif kind == EntryKind.ADMIN_CHANGE.value and str(attrs.get("action", "")).startswith(
            "provider-"
        ):
            switches.append(
                SwitchEvent(
                    seq=stored.seq,
                    provider=str(obj.get("provider") or ""),
                    action=str(attrs["action"]).removeprefix("provider-"),
                    time_ms=time_ms,
                    actor=str(attrs.get("actor", "")),
                )
            )
        elif kind == EntryKind.OVERSIGHT_REVIEW.value:
            review = review_from_entry(stored.seq, obj)
            if review is not None:
                reviews.append(review)
    return LedgerActivity(
        by_kind=dict(sorted(by_kind.items())),
        classes_seen=dict(sorted(classes.items())),
        apps={
            subject: AppActivity(
                requests=v["n"],
                first_ms=v["first"],
                last_ms=v.get("last"),
                classes=tuple(sorted(v["classes"])),
            )
            for subject, v in sorted(apps.items())
        },
        switch_events=tuple(switches),
        reviews=tuple(reviews),
        unreadable=unreadable,
        payload_suites=dict(sorted(suites.items())),
        payload_not_envelope=not_envelope,
    )


def _ledger_facts(settings: Settings) -> LedgerFacts:
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
                activity=ledger_activity(store, size),
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
            activity=ledger_activity(store, report.size),
            **base,
        )
    finally:
        store.close()


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


def _where(where: Where | None) -> str:
    if where is None:
        return "any provider"
    parts = []
    if where.providers:
        parts.append("providers " + ", ".join(where.providers))
    if where.hosting:
        parts.append("hosting " + ", ".join(where.hosting))
    if where.jurisdictions:
        parts.append("operators in " + ", ".join(where.jurisdictions))
    return "; ".join(parts) or "any provider"


def _reaches_outside(where: Where | None) -> bool:
    """Can the rule apply to a provider hosted outside the organization (KR region, abroad)?"""
    return where is None or not where.hosting or bool(set(where.hosting) - {"on-prem"})


def _pseudonym_tables(settings: Settings) -> int | None:
    path = settings.home / "pseudonyms.db"
    if settings.control.store == "sqlite" and not path.exists():
        return None
    try:
        vault = PseudonymVault(open_control(settings).vault_database())
    except SumunError:
        return None
    try:
        return vault.count()
    finally:
        vault.close()


def policy_facts(settings: Settings, policy: Policy | None = None) -> PolicyFacts:
    """The policy in force and, per configured provider, the highest class it is admitted for
    (`admit_profile` with the policy's admission rules: what the gateway itself computes)."""
    where = str(settings.config_file) if settings.config_file else "built-in defaults"
    error = None
    if policy is None:
        try:
            path = policy_path(settings)
            policy = load_policy(settings)
        except ConfigError as exc:
            error, path, policy = str(exc), None, DEFAULT_POLICY
        source = str(path) if path else "the built-in policy"
    else:
        source = policy.source
    rules = policy.admission.rules()
    served: dict[str, list[str]] = {}
    for route in settings.routes:
        for target in route.targets:
            served.setdefault(target.provider, []).append(route.model)
    providers = []
    for provider in settings.providers:
        declared = provider.effective_profile()
        profile = ProviderProfile(**declared.model_dump()) if declared else ProviderProfile()
        providers.append(
            ProviderFacts(
                name=provider.name,
                kind=provider.kind,
                base_url=provider.base_url,
                declared=declared is not None,
                profile=profile,
                admitted=admit_profile(profile, rules),
                routes=tuple(served.get(provider.name, ())),
            )
        )
    classification = policy.classification
    return PolicyFacts(
        origin=f"configuration ({where}) and policy ({source})",
        providers=tuple(providers),
        rules=rules,
        unique_identifiers=frozenset(classification.floor_types),
        floor_class=classification.floor_class.value,
        pii_rules=tuple(
            PiiRuleFact(
                id=rule.id,
                types=rule.types,
                action=rule.action,
                when=_where(rule.when),
                outside=_reaches_outside(rule.when),
                providers=tuple(
                    p.name
                    for p in providers
                    if rule.when is None or rule.when.matches(p.name, p.profile)
                ),
            )
            for rule in policy.pii.rules
        ),
        pii_default=policy.pii.default,
        output_scan=policy.output.scan,
        pseudonym_retention_days=settings.gateway.pseudonym_retention_days,
        pseudonym_tables=_pseudonym_tables(settings),
        error=error,
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
    return Facts(
        now=time.time() if now is None else now,
        home=str(home),
        config_file=str(settings.config_file) if settings.config_file else None,
        keys=key_facts(key_status, key_origin),
        ledger=_ledger_facts(settings),
        directory=_directory_facts(settings),
        policy=policy_facts(settings),
        scan=read_scan(scan_file or home / SCANS_DIR / LATEST),
        register=register.load(),
        register_origin=str(register.path),
        attestations=Attestations(documents_for(settings)).load(),
        routes=tuple(r.model for r in settings.routes),
    )
