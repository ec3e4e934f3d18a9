"""The console's two languages: English and Korean, every label in one table.

The language is the `sumun_lang` cookie when it names one of ours, else the first of ours
the browser asks for (`Accept-Language`, by q-value), else English. Messages take
`str.format` fields; jinja2 autoescapes the result like any other value.

The login field's label is a contract (CONTRACTS.md): "API key" / "API 키".
"""

from __future__ import annotations

from collections.abc import Callable

from sumun.admin.console.messages import PAGES

__all__ = ["COOKIE", "DEFAULT", "LANGUAGES", "MESSAGES", "Translate", "negotiate", "translator"]

COOKIE = "sumun_lang"
LANGUAGES = ("en", "ko")
DEFAULT = "en"

Translate = Callable[..., str]

_COMMON: dict[str, tuple[str, str]] = {  # key: (English, Korean)
    "app.title": ("Sumun console", "수문 콘솔"),
    "nav.overview": ("Overview", "개요"),
    "nav.providers": ("Providers", "AI 제공자"),
    "nav.tenants": ("Tenants & keys", "테넌트와 키"),
    "nav.ledger": ("Ledger", "원장"),
    "nav.policy": ("Policy", "정책"),
    "nav.keys": ("Keys", "암호 키"),
    "nav.compliance": ("Compliance", "규제 준수"),
    "nav.supply_chain": ("Supply chain", "공급망"),
    "nav.logout": ("Sign out", "로그아웃"),
    "nav.language": ("Language", "언어"),
    "signed_in_as": ("{key_id} · {role} · tenant {tenant}", "{key_id} · {role} · 테넌트 {tenant}"),
    "role.admin": ("admin", "관리자"),
    "role.auditor": ("auditor", "감사자"),
    "role.user": ("user", "사용자"),
    "auditor_note": (
        "You are signed in as an auditor: you can read everything here and change nothing.",
        "감사자로 로그인했습니다. 모든 내용을 볼 수 있지만 변경할 수는 없습니다.",
    ),
    "tenant_note": (
        "You act for tenant {tenant}: you see that tenant only.",
        "테넌트 {tenant} 소속으로 로그인했습니다. 해당 테넌트만 볼 수 있습니다.",
    ),
    "footer": (
        "Every change made here is recorded in the ledger under your key id or account.",
        "여기서 한 모든 변경은 키 ID 또는 계정과 함께 원장에 기록됩니다.",
    ),
    # login
    "login.title": ("Sign in", "로그인"),
    "login.key": ("API key", "API 키"),
    "login.help": (
        "An admin or auditor API key. It is checked once and never kept in your browser.",
        "관리자(admin) 또는 감사자(auditor) API 키를 입력하세요. 키는 한 번 확인될 뿐 "
        "브라우저에 저장되지 않습니다.",
    ),
    "login.submit": ("Sign in", "로그인"),
    "login.invalid": (
        "This API key is not valid: it is unknown, malformed or revoked.",
        "유효하지 않은 API 키입니다. 알 수 없거나, 형식이 잘못되었거나, 폐기된 키입니다.",
    ),
    "login.user_role": (
        "This key has role “user”: it calls models but cannot open the console. "
        "Sign in with an admin or auditor key.",
        "이 키의 역할은 ‘사용자(user)’입니다. 모델 호출용 키로는 콘솔을 열 수 없습니다. "
        "관리자 또는 감사자 키로 로그인하세요.",
    ),
    "login.ended": (
        "Your session ended (signed out, idle too long, or the key was revoked).",
        "세션이 끝났습니다(로그아웃, 장시간 미사용 또는 키 폐기).",
    ),
    "login.unavailable": (
        "Sumun cannot check keys right now: {detail}",
        "지금은 키를 확인할 수 없습니다: {detail}",
    ),
    # overview
    "overview.title": ("Overview", "개요"),
    "overview.providers": ("Providers", "AI 제공자"),
    "overview.cut": ("{n} cut off", "{n}곳 차단됨"),
    "overview.none_cut": ("none cut off", "차단 없음"),
    "overview.tenants": ("Tenants", "테넌트"),
    "overview.ledger": ("Ledger entries", "원장 항목"),
    "overview.checkpoint": (
        "last signed checkpoint at size {size}",
        "마지막 서명 체크포인트: 크기 {size}",
    ),
    "overview.no_checkpoint": ("no signed checkpoint yet", "서명된 체크포인트 없음"),
    "overview.keys": ("Key layer", "키 계층"),
    "overview.sealed": ("Sealed", "봉인됨"),
    "overview.unsealed": ("Unsealed", "봉인 해제됨"),
    "overview.backend": ("{backend} backend, {suite}", "{backend} 백엔드, {suite}"),
    "overview.quorum": (
        "{threshold} of {custodians} custodians",
        "관리인 {custodians}명 중 {threshold}명",
    ),
    "overview.control": ("Control store", "제어 저장소"),
    "overview.control_ok": ("{store}, in sync", "{store}, 정상"),
    "overview.control_problem": ("{store}: {problem}", "{store}: {problem}"),
    # providers
    "providers.title": ("Providers", "AI 제공자"),
    "providers.intro": (
        "What each provider may receive, and why; and the kill switch. "
        "A cut takes effect on every node within 1 second.",
        "각 제공자가 받을 수 있는 데이터 등급과 그 근거, 그리고 차단 스위치입니다. "
        "차단은 1초 안에 모든 노드에 적용됩니다.",
    ),
    "providers.kind": ("Kind", "종류"),
    "providers.routes": ("Serves models", "제공 모델"),
    "providers.profile": ("Declared profile", "선언된 프로필"),
    "providers.undeclared": (
        "No declared profile: admitted for open (O) data only.",
        "선언된 프로필이 없습니다. 공개(O) 데이터만 허용됩니다.",
    ),
    "providers.jurisdiction": ("Jurisdiction", "관할"),
    "providers.hosting": ("Hosting", "호스팅"),
    "providers.key_custody": ("Key custody", "키 보관"),
    "providers.retention_days": ("Retention (days)", "보존 기간(일)"),
    "providers.training_use": ("Used for training", "학습에 사용"),
    "providers.certifications": ("Certifications", "인증"),
    "providers.cross_border_basis": ("Cross-border basis", "국외 이전 근거"),
    "providers.admitted": ("Admitted for", "허용 등급"),
    "providers.why": ("Why", "근거"),
    "providers.rules": ("Rules", "규칙"),
    "providers.state": ("Kill switch", "차단 스위치"),
    "providers.open": ("Open: traffic flows", "연결됨: 트래픽 허용"),
    "providers.is_cut": ("Cut off", "차단됨"),
    "providers.last_change": ("{actor}: “{reason}”", "{actor}: “{reason}”"),
    "providers.reason": ("Reason", "사유"),
    "providers.cut": ("Cut off…", "차단…"),
    "providers.restore": ("Restore", "복구"),
    "providers.not_operator": (
        "Cutting and restoring act on every tenant: only keys of the operator tenant may.",
        "차단과 복구는 모든 테넌트에 영향을 주므로 운영 테넌트의 키만 할 수 있습니다.",
    ),
    "yes": ("yes", "예"),
    "no": ("no", "아니요"),
    "unknown": ("not declared", "선언 안 됨"),
    "class.C": ("C — classified", "C — 기밀"),
    "class.S": ("S — sensitive", "S — 민감"),
    "class.O": ("O — open", "O — 공개"),
    # the cut's confirmation step
    "confirm.title": ("Cut off {name}?", "{name} 차단"),
    "confirm.body": (
        "Within 1 second, every node stops sending requests to {name}: they fail over to "
        "another provider of the route or are refused (503) until it is restored. "
        "The cut is recorded in the ledger under your key id.",
        "1초 안에 모든 노드가 {name}(으)로 요청을 보내지 않습니다. 요청은 같은 경로의 다른 "
        "제공자로 넘어가거나, 복구될 때까지 거부(503)됩니다. 차단은 키 ID와 함께 원장에 "
        "기록됩니다.",
    ),
    "confirm.go": ("Yes, cut off {name}", "{name} 차단 확인"),
    "cancel": ("Cancel", "취소"),
    "done.cut": ("{name} is cut off (ledger entry {seq}).", "{name} 차단됨 (원장 항목 {seq})."),
    "done.restore": (
        "{name} is restored (ledger entry {seq}).",
        "{name} 복구됨 (원장 항목 {seq}).",
    ),
    # tenants and keys
    "tenants.title": ("Tenants & keys", "테넌트와 키"),
    "tenants.limits": ("Limits", "한도"),
    "tenants.no_limits": ("none", "없음"),
    "tenants.default_class": ("Default data class", "기본 데이터 등급"),
    "tenants.ai_notice": ("AI notice to users", "AI 이용 고지"),
    "keys.key_id": ("Key id", "키 ID"),
    "keys.role": ("Role", "역할"),
    "keys.app": ("App", "앱"),
    "keys.user": ("User", "사용자"),
    "keys.created": ("Issued", "발급일"),
    "keys.state": ("State", "상태"),
    "keys.active": ("active", "사용 중"),
    "keys.revoked": ("revoked", "폐기됨"),
    "keys.revoke": ("Revoke", "폐기"),
    "keys.none": ("No keys yet.", "아직 키가 없습니다."),
    "keys.issue": ("Issue a key", "키 발급"),
    "keys.any_app": ("(no app)", "(앱 없음)"),
    "issued.title": ("New API key for {tenant}", "{tenant}의 새 API 키"),
    "issued.once": (
        "Copy it now: it is shown this once. Sumun keeps only its digest.",
        "지금 복사하세요. 이 키는 이번 한 번만 표시되며 수문은 해시만 보관합니다.",
    ),
    "issued.copy": ("Copy", "복사"),
    "issued.copied": ("Copied", "복사됨"),
    "issued.ledger": ("Recorded as ledger entry {seq}.", "원장 항목 {seq}에 기록됨."),
    "issued.back": ("Back to tenants & keys", "테넌트와 키로 돌아가기"),
    "done.revoke": (
        "Key {key_id} is revoked (ledger entry {seq}).",
        "키 {key_id} 폐기됨 (원장 항목 {seq}).",
    ),
    "done.revoked_already": ("Key {key_id} was revoked already.", "키 {key_id}는 이미 폐기됨."),
    # the ledger explorer
    "ledger.title": ("Ledger", "원장"),
    "ledger.intro": (
        "Every request, refusal and change, in order; metadata only. Open an entry to check, "
        "in your own browser, that it is in the signed record.",
        "모든 요청, 거부, 변경이 순서대로 기록됩니다(메타데이터만 표시). 항목을 열면 서명된 "
        "기록에 포함되어 있는지 브라우저에서 직접 확인할 수 있습니다.",
    ),
    "ledger.size": ("{size} entries", "항목 {size}개"),
    "ledger.search": ("Sequence number or request id", "순번 또는 요청 ID"),
    "ledger.search_submit": ("Search", "검색"),
    "ledger.filter_tenant": ("Tenant", "테넌트"),
    "ledger.filter_kind": ("Kind", "종류"),
    "ledger.filter_any": ("any", "전체"),
    "ledger.filter_request": ("Request id", "요청 ID"),
    "ledger.clear": ("All entries", "전체 항목"),
    "ledger.seq": ("Seq", "순번"),
    "ledger.time": ("Time", "시각"),
    "ledger.kind": ("Kind", "종류"),
    "ledger.tenant": ("Tenant", "테넌트"),
    "ledger.decision": ("Decision", "결정"),
    "ledger.request_id": ("Request id", "요청 ID"),
    "ledger.none": ("No entries.", "항목이 없습니다."),
    "ledger.found": (
        "Entries that match, among seq {low}–{high}.",
        "순번 {low}–{high} 중 검색 조건에 맞는 항목입니다.",
    ),
    "ledger.newer": ("Newest", "최신"),
    "ledger.older": ("Older", "이전"),
    "ledger.search_older": ("Search older entries", "이전 항목 검색"),
    "ledger.entry_title": ("Ledger entry {seq}", "원장 항목 {seq}"),
    "ledger.back": ("Back to the ledger", "원장으로 돌아가기"),
    "ledger.provider": ("Provider", "제공자"),
    "ledger.data_class": ("Data class", "데이터 등급"),
    "ledger.rules": ("Rules", "규칙"),
    "ledger.tokens": ("Tokens in / out", "입력 / 출력 토큰"),
    "ledger.latency": ("Latency", "지연 시간"),
    "ledger.attrs": ("Attributes", "속성"),
    "ledger.payload": ("Payload", "페이로드"),
    "ledger.payload_none": ("none", "없음"),
    "ledger.payload_encrypted": (
        "encrypted, {len} bytes, SHA-256 {sha256} — not shown here",
        "암호화됨, {len}바이트, SHA-256 {sha256} — 여기서는 표시하지 않음",
    ),
    "ledger.not_canonical": (
        "The stored bytes of this entry do not parse: {problem}",
        "이 항목의 저장된 바이트를 해석할 수 없습니다: {problem}",
    ),
    # the proof, checked in the browser (static/proof.js; "{…}" filled in by the script)
    "proof.title": ("Verify in this browser", "이 브라우저에서 검증"),
    "proof.intro": (
        "Your browser fetches this entry's inclusion proof and the ledger's signed checkpoint "
        "and checks them itself (RFC 9162, Ed25519 signature): it recomputes the entry's hash "
        "and the path to the tree's root, and checks the checkpoint's signature.",
        "브라우저가 이 항목의 포함 증명과 원장의 서명된 체크포인트를 받아 직접 검증합니다"
        "(RFC 9162, Ed25519 서명). 항목의 해시와 트리 루트까지의 경로를 다시 계산하고 "
        "체크포인트의 서명을 확인합니다.",
    ),
    "proof.nojs": (
        "This check needs JavaScript: it runs in your browser, not on the server.",
        "이 검증에는 JavaScript가 필요합니다. 검증은 서버가 아니라 브라우저에서 실행됩니다.",
    ),
    "proof.checking": ("Checking…", "검증 중…"),
    "proof.ok": (
        "Verified in your browser: entry {seq} is in the signed ledger of {size} entries.",
        "브라우저에서 검증됨: 항목 {seq}는 항목 {size}개의 서명된 원장에 포함되어 있습니다.",
    ),
    "proof.failed": ("Verification failed: {reason}", "검증 실패: {reason}"),
    "proof.key_used": ("Checkpoint signed by key", "체크포인트 서명 키"),
    "proof.compare": (
        "The key came from this server. Compare it with the ledger's verifier key obtained out "
        "of band (for example `sumun ledger vkeys` on a trusted host, or your organization's "
        "published key) — or paste that key here and check again.",
        "이 키는 이 서버에서 받은 것입니다. 별도 경로로 받은 원장 검증 키(예: 신뢰할 수 있는 "
        "호스트에서 `sumun ledger vkeys`, 또는 조직이 공개한 키)와 비교하거나, 그 키를 여기에 "
        "붙여 넣고 다시 검증하세요.",
    ),
    "proof.paste": ("Verifier key obtained out of band", "별도 경로로 받은 검증 키"),
    "proof.recheck": ("Check with this key", "이 키로 검증"),
    "proof.tree": ("Tree size", "트리 크기"),
    "proof.root": ("Signed root", "서명된 루트"),
    "proof.leaf": ("Entry hash", "항목 해시"),
    "proof.path": ("Proof hashes", "증명 해시 수"),
    "proof.origin": ("Log", "로그"),
    "reason.fetch": (
        "the server did not give the proof or the keys ({detail})",
        "서버가 증명이나 키를 주지 않았습니다({detail})",
    ),
    "reason.crypto": (
        "this browser cannot check it: Web Crypto with Ed25519 needs a current browser and "
        "HTTPS (or localhost)",
        "이 브라우저에서는 검증할 수 없습니다. Ed25519를 지원하는 최신 브라우저와 "
        "HTTPS(또는 localhost)가 필요합니다",
    ),
    "reason.malformed": (
        "the proof is malformed ({detail})",
        "증명의 형식이 잘못되었습니다({detail})",
    ),
    "reason.entry": (
        "the proven bytes are not this entry",
        "증명된 바이트가 이 항목이 아닙니다",
    ),
    "reason.path": (
        "the proof does not lead to the signed root: the entry or the proof was altered",
        "증명이 서명된 루트로 이어지지 않습니다. 항목이나 증명이 변조되었습니다",
    ),
    "reason.size": (
        "the checkpoint is for another tree size",
        "체크포인트의 트리 크기가 다릅니다",
    ),
    "reason.note": (
        "the checkpoint is malformed ({detail})",
        "체크포인트의 형식이 잘못되었습니다({detail})",
    ),
    "reason.key": (
        "the verifier key is malformed ({detail})",
        "검증 키의 형식이 잘못되었습니다({detail})",
    ),
    "reason.unsigned": (
        "the checkpoint has no signature by the verifier key",
        "체크포인트에 검증 키의 서명이 없습니다",
    ),
    "reason.signature": (
        "the checkpoint's signature by {key} is not valid",
        "{key}의 체크포인트 서명이 유효하지 않습니다",
    ),
    # errors
    "error.title": ("Refused", "거부됨"),
    "error.csrf": (
        "This form expired or did not come from this console. Reload the page and try again.",
        "이 양식이 만료되었거나 이 콘솔에서 온 것이 아닙니다. 페이지를 새로 고친 뒤 다시 "
        "시도하세요.",
    ),
    "error.refused": ("Sumun refused this: {detail}", "수문이 이 요청을 거부했습니다: {detail}"),
    "error.not_found": ("There is no such page.", "없는 페이지입니다."),
    "error.back": ("Back", "돌아가기"),
}


def _merged() -> dict[str, tuple[str, str]]:
    merged = dict(_COMMON)
    for page in PAGES:
        twice = merged.keys() & page.MESSAGES.keys()
        if twice:
            raise RuntimeError(f"console labels defined twice: {sorted(twice)}")
        merged.update(page.MESSAGES)
    return merged


MESSAGES: dict[str, tuple[str, str]] = _merged()


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The cookie's language if it is ours, else the browser's first of ours, else English."""
    if cookie in LANGUAGES:
        return cookie
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        lang = tag.strip().lower().split("-")[0]
        if lang in LANGUAGES and q > 0:
            ranked.append((-q, index, lang))
    return min(ranked)[2] if ranked else DEFAULT


def translator(lang: str) -> Translate:
    """`t(key, **fields)` in `lang`; an unknown key is a programming error (KeyError)."""
    column = LANGUAGES.index(lang)

    def t(key: str, **fields: object) -> str:
        text = MESSAGES[key][column]
        return text.format(**fields) if fields else text

    return t
