"""`sumun ledger verify|prove|checkpoint|export|tail|append`.

Reading and verifying need no keys: they act on the store directly, even while a server runs.
Signing a checkpoint, appending a payload and decrypting payloads (`tail --decrypt`) need the
keys: through the running Sumun's admin channel, or by unsealing here with a quorum.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from sumun.cli.common import (
    JsonOpt,
    PassOpt,
    ShareOpt,
    handle_errors,
    home_settings,
    settings,
    with_target,
)
from sumun.cli.render import console, err_console, print_json
from sumun.errors import LedgerIntegrityError, UsageError
from sumun.keys import registry, seal
from sumun.ledger import merkle, signing
from sumun.ledger.entry import EntryKind, decode_entry, kind_marker
from sumun.ledger.fsck import fsck
from sumun.ledger.keystate import Disagreement, key_state_disagreements
from sumun.ledger.note import Verifier
from sumun.ledger.proofs import ProofReader
from sumun.ledger.service import InclusionBundle
from sumun.ledger.store.base import LedgerStore, StoredCheckpoint
from sumun.ledger.tiles import export_tiles
from sumun.runtime import ledger_origin, open_store
from sumun.store.control import documents_for
from sumun.store.documents import as_documents

__all__ = ["app"]

app = typer.Typer(help="The transparency ledger: verify, prove, checkpoint, export, tail.")

_KEY_EVENT_MARK = kind_marker(EntryKind.KEY_EVENT)


def _verifiers() -> list[Verifier]:
    return [Verifier.from_vkey(v) for v in signing.public_vkeys(documents_for(settings()))]


@app.command()
@handle_errors
def verify(json_out: JsonOpt = False) -> None:
    """fsck: re-derive every hash and the root from the stored entries; check checkpoints."""
    conf = home_settings()
    store = open_store(conf)
    try:
        show = sys.stderr.isatty() and not json_out
        with Progress(
            TextColumn("verifying"),
            BarColumn(),
            TextColumn("{task.completed:,}/{task.total:,}"),
            TimeRemainingColumn(),
            console=err_console,
            disable=not show,
        ) as bar:
            task = bar.add_task("verify", total=store.size())
            try:
                report = fsck(
                    store,
                    _verifiers(),
                    origin=ledger_origin(conf),
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )
            except LedgerIntegrityError as exc:
                if json_out:
                    print_json({"ok": False, "first_bad_seq": exc.seq, "error": str(exc)})
                else:
                    where = "" if exc.seq is None else f" (first bad entry: seq {exc.seq})"
                    err_console.print(f"[red]verification FAILED[/]{where}: {exc}")
                raise typer.Exit(1) from None
        disagreements = _key_state(conf, store, report.size)
    finally:
        store.close()
    result = {
        "ok": not disagreements,
        "size": report.size,
        "root": base64.b64encode(report.root).decode(),
        "checkpoints": report.checkpoints,
        "payloads": report.payloads,
        "seconds": round(report.seconds, 3),
        "key_state_disagreements": [str(d) for d in disagreements],
    }
    if disagreements:
        if json_out:
            print_json(result)
        else:
            for disagreement in disagreements:
                err_console.print(f"[red]key state disagrees with the ledger[/]: {disagreement}")
        raise typer.Exit(1)
    if json_out:
        print_json(result)
    else:
        console.print(
            f"[green]ledger verified[/]: {report.size:,} entries, root {result['root']}, "
            f"{report.checkpoints} signed checkpoint(s), {report.seconds:.2f} s"
        )


def _key_state(conf: Any, store: LedgerStore, size: int) -> list[Disagreement]:
    """Each key's registry state against its last key-event (issue 19); none while uninit."""
    documents = as_documents(documents_for(conf))
    if not seal.is_initialised(documents):
        return []
    records = registry.read_unverified(documents)
    events = (
        (stored.seq, decode_entry(stored.entry))
        for stored in store.entries(0, size)
        if _KEY_EVENT_MARK in stored.entry
    )
    return key_state_disagreements(events, records)


@app.command()
@handle_errors
def vkeys(json_out: JsonOpt = False) -> None:
    """The log's signed-note verifier keys (public), to give a verifier out of band."""
    keys = list(signing.public_vkeys(documents_for(home_settings())))
    if not keys:
        raise UsageError("no signing keys yet", advice="sign a checkpoint first")
    if json_out:
        print_json({"vkeys": keys})
        return
    for key in keys:
        print(key)


@app.command()
@handle_errors
def checkpoint(
    shares: ShareOpt = None, passphrase: PassOpt = False, json_out: JsonOpt = False
) -> None:
    """Sign a checkpoint of the current tree (C2SP tlog-checkpoint signed note)."""
    target = with_target(shares, passphrase)
    try:
        result = target.ledger_checkpoint()
    finally:
        target.close()
    if json_out:
        print_json(result)
    else:
        sys.stdout.write(result["note"])


def _signed_checkpoint(store: LedgerStore, covering: int | None = None) -> StoredCheckpoint:
    """The latest signed checkpoint (covering entry `covering`), or a usage error saying how."""
    latest = store.latest_checkpoint()
    if latest is None or (covering is not None and latest.size <= covering):
        what = "yet" if covering is None else f"covering entry {covering} yet"
        raise UsageError(
            f"no signed checkpoint {what}",
            advice="run `sumun ledger checkpoint` (a running Sumun signs one every 10 s)",
        )
    return latest


@app.command()
@handle_errors
def prove(
    seq: Annotated[int, typer.Option("--seq", help="sequence number of the entry")],
    json_out: JsonOpt = False,
) -> None:
    """Inclusion proof of one entry against the latest signed checkpoint covering it."""
    conf = home_settings()
    store = open_store(conf)
    try:
        if seq < 0:
            raise UsageError("seq must be >= 0")
        latest = _signed_checkpoint(store, covering=seq)
        entry = next(iter(store.entries(seq, seq + 1)))
        proof = ProofReader(store).inclusion_proof(seq, latest.size)
        bundle = InclusionBundle(seq, entry.entry, latest.size, tuple(proof), latest.note)
    finally:
        store.close()
    merkle.verify_inclusion(merkle.leaf_hash(entry.entry), seq, latest.size, proof, latest.root)
    if json_out:
        print_json(bundle.to_json())
        return
    console.print(f"entry {seq} is in the tree of size {latest.size} (proof verified):")
    console.print_json(json.dumps(bundle.to_json()))


@app.command()
@handle_errors
def export(
    tiles: Annotated[Path, typer.Option("--tiles", help="directory to write the tlog-tiles tree")],
    json_out: JsonOpt = False,
) -> None:
    """Write a C2SP tlog-tiles copy of the log up to the latest signed checkpoint."""
    conf = home_settings()
    store = open_store(conf)
    try:
        latest = _signed_checkpoint(store)
        export_tiles(
            tiles,
            size=latest.size,
            get_nodes=store.get_nodes,
            entries=store.entries,
            checkpoint_note=latest.note,
            vkeys=list(signing.public_vkeys(documents_for(conf))),
        )
    finally:
        store.close()
    if json_out:
        print_json({"dir": str(tiles), "size": latest.size})
    else:
        console.print(
            f"exported {latest.size:,} entries to {tiles}; verify offline with\n"
            f"  python -m sumun.ledger.verifier {tiles}"
        )


@app.command()
@handle_errors
def tail(
    count: Annotated[int, typer.Option("-n", "--count", help="how many entries")] = 20,
    decrypt: Annotated[
        bool, typer.Option("--decrypt", help="decrypt payloads (needs the keys)")
    ] = False,
    shares: ShareOpt = None,
    passphrase: PassOpt = False,
    kind: Annotated[
        str | None,
        typer.Option("--kind", help="only entries of this kind (e.g. xks, admin-change)"),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """The latest entries; payloads decrypted only for callers who hold the keys."""
    if not 0 < count <= 10_000:
        raise UsageError("--count must be from 1 to 10000")
    kinds = [k.value for k in EntryKind]
    if kind is not None and kind not in kinds:
        raise UsageError(f"--kind must be one of: {', '.join(kinds)}")
    target = with_target(shares, passphrase)
    try:
        rows = target.ledger_tail(count, decrypt, kind)
    finally:
        target.close()
    if json_out:
        print_json({"entries": rows})
        return
    for row in rows:
        _print_row(row)


def _print_row(row: dict[str, Any]) -> None:
    entry = row["entry"]
    facts = [
        f"[bold]#{row['seq']}[/]",
        entry["kind"],
        f"tenant={entry['tenant']}",
    ]
    for name in ("decision", "provider", "data_class", "request_id"):
        if entry.get(name):
            facts.append(f"{name}={entry[name]}")
    if entry.get("rules"):
        facts.append("rules=" + ",".join(entry["rules"]))
    facts.extend(f"{k}={v}" for k, v in sorted(entry.get("attrs", {}).items()))
    console.print("  ".join(facts), highlight=False)
    if row["payload_state"] == "decrypted":
        shown = row.get("payload", "<binary payload>")
        console.print(f"    payload: {shown}", highlight=False)
    elif row["payload_state"] != "none":
        console.print(f"    payload: [dim]{row['payload_state']}[/]", highlight=False)


@app.command()
@handle_errors
def append(
    tenant: Annotated[str, typer.Option(help="tenant the entry is about")],
    kind: Annotated[str, typer.Option(help="entry kind")] = "admin-change",
    attr: Annotated[
        list[str] | None, typer.Option("--attr", help="clear metadata key=value (repeat)")
    ] = None,
    payload_file: Annotated[
        Path | None,
        typer.Option("--payload-file", help="encrypted payload from a file ('-' = stdin)"),
    ] = None,
    shares: ShareOpt = None,
    passphrase: PassOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Append one entry by hand (strict durability); a payload is encrypted for the tenant."""
    attrs: dict[str, str] = {}
    for item in attr or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"--attr wants key=value, got {item!r}")
        attrs[name] = value
    body: dict[str, Any] = {"tenant": tenant, "kind": kind, "attrs": attrs}
    if payload_file is not None:
        data = sys.stdin.buffer.read() if str(payload_file) == "-" else payload_file.read_bytes()
        body["payload_b64"] = base64.b64encode(data).decode()
    target = with_target(shares, passphrase)
    try:
        result = target.ledger_append(body)
    finally:
        target.close()
    if json_out:
        print_json(result)
    else:
        console.print(f"appended entry #{result['seq']}")
