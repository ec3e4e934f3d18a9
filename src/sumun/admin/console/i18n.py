"""The console's two languages: English and Korean, every label in one table.

The language is the `sumun_lang` cookie when it names one of ours, else the first of ours
the browser asks for (`Accept-Language`, by q-value), else English. Messages take
`str.format` fields; jinja2 autoescapes the result like any other value.

The login field's label is a contract (CONTRACTS.md): "API key" / "API 키".
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["COOKIE", "DEFAULT", "LANGUAGES", "MESSAGES", "Translate", "negotiate", "translator"]

COOKIE = "sumun_lang"
LANGUAGES = ("en", "ko")
DEFAULT = "en"

Translate = Callable[..., str]

MESSAGES: dict[str, tuple[str, str]] = {  # key: (English, Korean)
    "app.title": ("Sumun console", "수문 콘솔"),
    "nav.overview": ("Overview", "개요"),
    "nav.providers": ("Providers", "AI 제공자"),
    "nav.tenants": ("Tenants & keys", "테넌트와 키"),
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
        "This key belongs to tenant {tenant}: you see that tenant only.",
        "이 키는 테넌트 {tenant}의 키입니다. 해당 테넌트만 볼 수 있습니다.",
    ),
    "footer": (
        "Every change made here is recorded in the ledger under your key id.",
        "여기서 한 모든 변경은 키 ID와 함께 원장에 기록됩니다.",
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
