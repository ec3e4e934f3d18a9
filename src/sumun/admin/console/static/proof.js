// A ledger entry's inclusion proof, checked in this browser (CSP: script-src 'self'; no
// library): the server's word is not needed, only its bytes. The steps, in order:
//   1. fetch the proof (proof.json) and the verifier keys (vkeys.json, or one pasted by the
//      auditor): same origin, the session's cookie
//   2. parse each verifier key (signed-note vkey "name+keyid+base64(type || key)"): its key ID
//      MUST be the one derived from the key — so comparing "name+keyid" compares the key
//   3. open the checkpoint note (C2SP signed-note): every signature line of a known key MUST
//      verify (0x01 Ed25519; 0x02 ECDSA P-256 over SHA-256), and at least one MUST
//   4. parse the checkpoint text (C2SP tlog-checkpoint): origin, tree size, base64 root
//   5. the leaf hash SHA-256(0x00 || entry bytes) (RFC 6962 section 2.1); the entry MUST be the
//      one this page shows (its seq)
//   6. the audit path to a root (RFC 9162 section 2.1.3.2) at the checkpoint's size; the root
//      MUST equal the signed root
// The same rules as sumun.ledger.note and sumun.ledger.merkle, which the tests hold it to.
"use strict";

const MAX_SIGNATURES = 100; // as sumun.ledger.note
const EM_DASH = "\u2014 ";
const utf8 = new TextEncoder();

class Failure extends Error {
  // `reason` names a data-reason-* message of the panel; `detail` fills its "{detail}".
  constructor(reason, detail, key) {
    super(reason);
    this.reason = reason;
    this.detail = detail || "";
    this.key = key || "";
  }
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function same(a, b) {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function unhex(text) {
  if (typeof text !== "string" || !/^(?:[0-9a-f]{2})*$/.test(text)) {
    throw new Error("not hex");
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function fromBase64(text) {
  // Standard base64 with padding (RFC 4648 section 4), as the Python side requires.
  if (typeof text !== "string" || text.length % 4 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    throw new Error("not standard base64");
  }
  const bin = atob(text);
  return Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
}

function toBase64(bytes) {
  return btoa(String.fromCharCode(...bytes));
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

// -- step 1 ------------------------------------------------------------------------------------

async function getJSON(path) {
  let answer;
  try {
    answer = await fetch(path, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { accept: "application/json" },
    });
  } catch (exc) {
    throw new Failure("fetch", String(exc.message || exc));
  }
  if (!answer.ok) throw new Failure("fetch", "HTTP " + answer.status);
  try {
    return await answer.json();
  } catch (exc) {
    throw new Failure("fetch", "not JSON");
  }
}

// -- step 2 ------------------------------------------------------------------------------------

async function importKey(format, bytes, algorithm) {
  try {
    return await crypto.subtle.importKey(format, bytes, algorithm, false, ["verify"]);
  } catch (exc) {
    if (exc && exc.name === "NotSupportedError") throw new Failure("crypto");
    throw new Failure("key", "the public key does not load");
  }
}

async function parseVkey(text) {
  const first = text.indexOf("+");
  const second = text.indexOf("+", first + 1);
  if (first <= 0 || second < 0) throw new Failure("key", "not <name>+<key id>+<key>");
  const name = text.slice(0, first);
  const keyId = text.slice(first + 1, second).toLowerCase();
  if (/[\s+\u0000-\u001f]/.test(name)) throw new Failure("key", "a bad key name");
  if (!/^[0-9a-f]{8}$/.test(keyId)) throw new Failure("key", "the key ID is not 8 hex digits");
  let raw;
  try {
    raw = fromBase64(text.slice(second + 1));
  } catch (exc) {
    throw new Failure("key", "the key is not base64");
  }
  const alg = raw[0];
  const pub = raw.slice(1);
  let derived;
  let key;
  if (alg === 0x01) {
    if (pub.length !== 32) throw new Failure("key", "an Ed25519 key is 32 bytes");
    derived = await sha256(concat(utf8.encode(name + "\n"), Uint8Array.of(0x01), pub));
    key = await importKey("raw", pub, { name: "Ed25519" });
  } else if (alg === 0x02) {
    // signed-note, type 0x02: the key ID hashes the SPKI DER alone (no name, no type byte).
    derived = await sha256(pub);
    key = await importKey("spki", pub, { name: "ECDSA", namedCurve: "P-256" });
  } else {
    throw new Failure("key", "unknown signature type " + alg);
  }
  if (hex(derived.slice(0, 4)) !== keyId) {
    throw new Failure("key", "the key ID does not match the key");
  }
  return { name, keyId, alg, key, label: name + "+" + keyId, text };
}

// -- step 3 ------------------------------------------------------------------------------------

function derToRaw(der) {
  // An ASN.1 DER ECDSA-Sig-Value (SEQUENCE of two INTEGERs) as WebCrypto's r || s, 32 bytes each.
  const ints = [];
  if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2) return null;
  let at = 2;
  for (let n = 0; n < 2; n++) {
    if (der[at] !== 0x02) return null;
    const len = der[at + 1];
    let value = der.slice(at + 2, at + 2 + len);
    if (len === 0 || value.length !== len) return null;
    while (value.length > 1 && value[0] === 0) value = value.slice(1);
    if (value.length > 32) return null;
    ints.push(concat(new Uint8Array(32 - value.length), value));
    at += 2 + len;
  }
  return at === der.length ? concat(ints[0], ints[1]) : null;
}

async function openNote(note, keys) {
  if (typeof note !== "string") throw new Failure("note", "no note");
  if (/[\u0000-\u0009\u000b-\u001f]/.test(note)) throw new Failure("note", "control characters");
  const split = note.lastIndexOf("\n\n");
  if (split < 0) throw new Failure("note", "no blank line before the signatures");
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (!block || !block.endsWith("\n")) throw new Failure("note", "no signature lines");
  const lines = block.slice(0, -1).split("\n");
  if (lines.length > MAX_SIGNATURES) throw new Failure("note", "too many signatures");
  const message = utf8.encode(text);
  const verified = [];
  for (const line of lines) {
    if (!line.startsWith(EM_DASH)) throw new Failure("note", "a bad signature line");
    const rest = line.slice(EM_DASH.length);
    const space = rest.indexOf(" ");
    if (space <= 0) throw new Failure("note", "a bad signature line");
    let blob;
    try {
      blob = fromBase64(rest.slice(space + 1));
    } catch (exc) {
      throw new Failure("note", "a signature is not base64");
    }
    if (blob.length < 5) throw new Failure("note", "a signature is too short");
    const name = rest.slice(0, space);
    const keyId = hex(blob.slice(0, 4));
    const signature = blob.slice(4);
    const key = keys.find((k) => k.name === name && k.keyId === keyId);
    if (!key) continue; // signed-note: lines of unknown keys are ignored
    let good = false;
    if (key.alg === 0x01) {
      good = await crypto.subtle.verify({ name: "Ed25519" }, key.key, signature, message);
    } else {
      const raw = derToRaw(signature);
      const ecdsa = { name: "ECDSA", hash: "SHA-256" };
      good = raw !== null && (await crypto.subtle.verify(ecdsa, key.key, raw, message));
    }
    if (!good) throw new Failure("signature", "", key.label);
    if (!verified.includes(key)) verified.push(key);
  }
  if (!verified.length) throw new Failure("unsigned");
  return { text, verified };
}

// -- step 4 ------------------------------------------------------------------------------------

function parseCheckpoint(text) {
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3 || lines.some((line) => !line)) {
    throw new Failure("note", "it needs origin, size and root lines");
  }
  if (!/^(?:0|[1-9][0-9]*)$/.test(lines[1])) throw new Failure("note", "the size is not a number");
  let root;
  try {
    root = fromBase64(lines[2]);
  } catch (exc) {
    throw new Failure("note", "the root is not base64");
  }
  if (root.length !== 32 || toBase64(root) !== lines[2]) {
    throw new Failure("note", "the root is not 32 bytes");
  }
  return { origin: lines[0], size: BigInt(lines[1]), root };
}

// -- steps 5 and 6 -----------------------------------------------------------------------------

async function leafHash(seq, leaf) {
  let entry;
  try {
    entry = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(leaf));
  } catch (exc) {
    throw new Failure("entry");
  }
  if (!entry || entry.seq !== seq) throw new Failure("entry");
  return sha256(concat(Uint8Array.of(0x00), leaf));
}

async function rootFromInclusion(index, size, leaf, path) {
  // RFC 9162 section 2.1.3.2, step by step (BigInt: tree sizes are 64-bit).
  if (index >= size) throw new Failure("path");
  let fn = index;
  let sn = size - 1n;
  let r = leaf;
  for (const p of path) {
    if (sn === 0n) throw new Failure("path"); // a proof longer than the tree is tall
    if ((fn & 1n) === 1n || fn === sn) {
      r = await sha256(concat(Uint8Array.of(0x01), p, r));
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = await sha256(concat(Uint8Array.of(0x01), r, p));
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new Failure("path"); // too short
  return r;
}

async function check(seq, proof, vkeys) {
  if (!proof || proof.seq !== seq || !Number.isSafeInteger(proof.tree_size)) {
    throw new Failure("malformed", "seq or tree_size");
  }
  if (!Array.isArray(proof.proof) || !Array.isArray(vkeys)) {
    throw new Failure("malformed", "proof or vkeys");
  }
  // Step 2
  const keys = [];
  for (const text of vkeys) keys.push(await parseVkey(String(text)));
  if (!keys.length) throw new Failure("unsigned");
  // Step 3
  const note = await openNote(proof.checkpoint, keys);
  // Step 4
  const checkpoint = parseCheckpoint(note.text);
  if (checkpoint.size !== BigInt(proof.tree_size)) throw new Failure("size");
  // Step 5
  let leaf;
  let path;
  try {
    leaf = fromBase64(proof.leaf);
    path = proof.proof.map(unhex);
  } catch (exc) {
    throw new Failure("malformed", "leaf or proof hashes");
  }
  if (path.some((node) => node.length !== 32)) throw new Failure("malformed", "proof hashes");
  const hashed = await leafHash(seq, leaf);
  // Step 6
  const root = await rootFromInclusion(BigInt(seq), checkpoint.size, hashed, path);
  if (!same(root, checkpoint.root)) throw new Failure("path");
  return { checkpoint, hashed, path, keys: note.verified };
}

// -- the panel ---------------------------------------------------------------------------------

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (all, name) => (name in values ? values[name] : all));
}

function say(panel, state, text) {
  const verdict = panel.querySelector("[data-testid=verdict]");
  verdict.textContent = text;
  verdict.dataset.state = state;
  verdict.className = "verdict " + { ok: "good", failed: "bad", checking: "" }[state];
}

function show(panel, result) {
  const facts = panel.querySelector("[data-testid=proof-facts]");
  const put = (name, value) => {
    facts.querySelector(`[data-fact=${name}]`).textContent = value;
  };
  if (!result) {
    facts.hidden = true;
    return;
  }
  put("origin", result.checkpoint.origin);
  put("size", result.checkpoint.size.toLocaleString());
  put("leaf", hex(result.hashed));
  put("path", String(result.path.length));
  put("root", toBase64(result.checkpoint.root));
  // Each key as "<name>+<key id>" (bold: what an auditor compares) then "+<key>".
  const shown = facts.querySelector("[data-fact=key]");
  shown.replaceChildren();
  result.keys.forEach((k, i) => {
    if (i) shown.append("\n");
    const label = document.createElement("strong");
    label.textContent = k.text.slice(0, k.label.length);
    shown.append(label, k.text.slice(k.label.length));
  });
  facts.hidden = false;
}

async function run(panel, pasted) {
  const messages = panel.dataset;
  const seq = Number(messages.seq);
  say(panel, "checking", messages.msgChecking);
  show(panel, null);
  try {
    if (!window.isSecureContext || !window.crypto || !crypto.subtle) throw new Failure("crypto");
    // The proof first: on a new ledger, proving signs the first checkpoint (and makes the keys).
    const proof = await getJSON(messages.proofUrl);
    const keys = pasted ? { vkeys: [pasted] } : await getJSON(messages.vkeysUrl);
    const result = await check(seq, proof, keys.vkeys);
    show(panel, result);
    say(panel, "ok", fill(messages.msgOk, { seq, size: result.checkpoint.size.toLocaleString() }));
  } catch (exc) {
    const failure =
      exc instanceof Failure ? exc : new Failure("malformed", String((exc && exc.message) || exc));
    const template = messages["reason" + failure.reason[0].toUpperCase() + failure.reason.slice(1)];
    const reason = fill(template || failure.reason, { detail: failure.detail, key: failure.key });
    say(panel, "failed", fill(messages.msgFailed, { reason }));
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const panel = document.getElementById("proof");
  if (!panel) return;
  const form = panel.querySelector("form.vkey");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run(panel, form.elements.vkey.value.trim() || null);
  });
  run(panel, null);
});
