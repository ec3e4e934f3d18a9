"""Labels for the key layer's page: seal state, unseal quorum, KEK versions and their lifecycle:
key → (English, Korean). Prefixed `kek.`: `keys.` is the virtual API keys' (tenants page)."""

MESSAGES: dict[str, tuple[str, str]] = {
    "kek.title": ("Keys", "암호 키"),
    "kek.intro": (
        "The key layer: whether it is sealed, and the key-encryption keys (KEKs) that protect "
        "each tenant's recorded data. No key material is ever shown here.",
        "키 계층의 봉인 상태와, 각 테넌트의 기록 데이터를 보호하는 키 암호화 키(KEK)를 "
        "보여 줍니다. 키 자체는 이 화면에 절대 표시되지 않습니다.",
    ),
    # the seal
    "kek.seal_title": ("Seal", "봉인"),
    "kek.sealed": ("Sealed", "봉인됨"),
    "kek.unsealed": ("Unsealed", "봉인 해제됨"),
    "kek.sealed_help": (
        "While sealed, no key is in memory: the gateway refuses every call (503) until a "
        "quorum of custodians unseals it.",
        "봉인된 동안에는 메모리에 키가 없으므로 게이트웨이가 모든 호출을 거부합니다(503). "
        "관리인 정족수가 봉인을 해제해야 다시 동작합니다.",
    ),
    "kek.backend": ("Key backend", "키 백엔드"),
    "kek.suite": ("Cipher suite", "암호 스위트"),
    "kek.method": ("Seal method", "봉인 방식"),
    "kek.method_shamir": ("custodian shares", "관리인 키 조각"),
    "kek.method_passphrase": ("a passphrase", "암호문"),
    "kek.quorum": ("Custodian quorum", "관리인 정족수"),
    "kek.quorum_value": (
        "{threshold} of {custodians} custodians",
        "관리인 {custodians}명 중 {threshold}명",
    ),
    "kek.progress": ("{n} of {k} shares", "키 조각 {k}개 중 {n}개"),
    "kek.progress_label": ("Shares given so far", "지금까지 제출된 키 조각"),
    "kek.backend_state": ("Backend reachable", "백엔드 연결"),
    "kek.rekey": ("Rekey epoch", "재암호화 주기"),
    "kek.rekey_every": ("every {days} days", "{days}일마다"),
    "kek.rekey_off": ("off", "사용 안 함"),
    "kek.rekey_due": ("Owed a rekey now", "지금 재암호화가 필요한 키"),
    "kek.grace_default": ("Default grace before destruction", "파기 전 기본 유예 기간"),
    "kek.days": ("{n} days", "{n}일"),
    "kek.share": ("Your custodian share", "본인의 관리인 키 조각"),
    "kek.share_help": (
        "Each custodian enters their own share here, one at a time. A share is held in "
        "memory only until the quorum is complete, and never stored or shown again.",
        "관리인은 각자 자신의 키 조각을 한 번에 하나씩 입력합니다. 키 조각은 정족수가 "
        "채워질 때까지 메모리에만 보관되며, 저장되거나 다시 표시되지 않습니다.",
    ),
    "kek.passphrase": ("Passphrase", "암호문"),
    "kek.submit_share": ("Submit share", "키 조각 제출"),
    "kek.submit_passphrase": ("Unseal", "봉인 해제"),
    "kek.seal_button": ("Seal now…", "지금 봉인…"),
    "kek.seal_confirm_title": ("Seal the key layer?", "키 계층을 봉인할까요?"),
    "kek.seal_confirm_body": (
        "Every key is forgotten on this node. Requests in flight end first; then the gateway "
        "refuses every call (503) until a quorum of custodians unseals it again.",
        "이 노드의 모든 키가 메모리에서 지워집니다. 처리 중인 요청을 먼저 마친 뒤, 관리인 "
        "정족수가 다시 봉인을 해제할 때까지 게이트웨이는 모든 호출을 거부합니다(503).",
    ),
    "kek.seal_go": ("Yes, seal", "예, 봉인합니다"),
    "kek.no_unseal_here": (
        "Only an admin key of the operator tenant can unseal.",
        "운영 테넌트의 관리자 키로만 봉인을 해제할 수 있습니다.",
    ),
    # the keys
    "kek.keys_title": ("Key-encryption keys", "키 암호화 키(KEK)"),
    "kek.unverified": (
        "Sealed: this list is read as stored, without its integrity check (which needs the "
        "master key).",
        "봉인 상태이므로 이 목록은 무결성 검증 없이 저장된 그대로 읽은 것입니다"
        "(검증에는 마스터 키가 필요합니다).",
    ),
    "kek.none": ("No keys in your scope.", "볼 수 있는 키가 없습니다."),
    "kek.tenant": ("Tenant", "테넌트"),
    "kek.state": ("State", "상태"),
    "kek.primary": ("Primary version", "주 버전"),
    "kek.created": ("Created", "생성"),
    "kek.age": ("Age", "경과 일수"),
    "kek.destroy_after": ("Destroyed after", "파기 예정"),
    "kek.rekey_due_at": ("Next rekey due", "다음 재암호화 예정"),
    "kek.state.enabled": ("enabled", "사용 중"),
    "kek.state.disabled": ("disabled", "사용 중지"),
    "kek.state.pending-destruction": ("destruction pending", "파기 예정"),
    "kek.state.destroyed": ("destroyed", "파기됨"),
    "kek.version": ("Version", "버전"),
    "kek.wraps": ("DEKs wrapped", "래핑한 DEK"),
    "kek.is_primary": ("primary", "주 버전"),
    "kek.actions": ("Actions", "작업"),
    "kek.rotate": ("Rotate", "키 교체"),
    "kek.disable": ("Disable", "사용 중지"),
    "kek.enable": ("Enable", "다시 사용"),
    "kek.cancel_destroy": ("Cancel destruction", "파기 취소"),
    "kek.destroy_title": ("Destroy this key", "이 키 파기"),
    "kek.destroy_help": (
        "Every record encrypted under {key_id} becomes unreadable for good once the grace "
        "period ends. Until then, “Cancel destruction” restores it. Type the key id to confirm.",
        "유예 기간이 끝나면 {key_id}(으)로 암호화된 모든 기록을 영구히 읽을 수 없게 됩니다. "
        "그 전에는 ‘파기 취소’로 되돌릴 수 있습니다. 확인을 위해 키 ID를 입력하세요.",
    ),
    "kek.confirm": ("Type the key id", "키 ID 입력"),
    "kek.grace": ("Grace period (days)", "유예 기간(일)"),
    "kek.destroy": ("Schedule destruction", "파기 예약"),
    # outcomes
    "kek.done_rotate": (
        "{key_id} rotated (ledger entry {seq}).",
        "{key_id} 키를 교체했습니다(원장 항목 {seq}).",
    ),
    "kek.done_disable": (
        "{key_id} disabled (ledger entry {seq}).",
        "{key_id} 사용을 중지했습니다(원장 항목 {seq}).",
    ),
    "kek.done_enable": (
        "{key_id} enabled (ledger entry {seq}).",
        "{key_id}을(를) 다시 사용합니다(원장 항목 {seq}).",
    ),
    "kek.done_destroy": (
        "{key_id} is scheduled for destruction (ledger entry {seq}).",
        "{key_id} 파기를 예약했습니다(원장 항목 {seq}).",
    ),
    "kek.done_seal": ("Sealed (ledger entry {seq}).", "봉인했습니다(원장 항목 {seq})."),
    "kek.done_unseal": (
        "Unsealed (ledger entry {seq}).",
        "봉인을 해제했습니다(원장 항목 {seq}).",
    ),
    "kek.done_share": (
        "Share accepted: {n} of {k}; {left} more needed.",
        "키 조각을 받았습니다: {k}개 중 {n}개, {left}개 더 필요합니다.",
    ),
    "kek.unseal_refused": ("Not unsealed: {detail}", "봉인 해제 실패: {detail}"),
    "kek.unseal_empty": (
        "Enter a share (or the passphrase) first.",
        "키 조각(또는 암호문)을 먼저 입력하세요.",
    ),
}
