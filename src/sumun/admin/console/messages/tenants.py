"""Labels for creating tenants and apps, limits, budgets and usage — and, on other pages, a
ledger payload read and each provider's health: key → (English, Korean)."""

MESSAGES: dict[str, tuple[str, str]] = {
    # a new tenant (operator admins)
    "tenants.new": ("New tenant", "새 테넌트"),
    "tenants.new_help": (
        "A tenant is one organisation or department: its own keys, apps, limits and ledger "
        "entries. Its creation is recorded in the ledger under your key id.",
        "테넌트는 하나의 기관이나 부서입니다. 키·앱·한도·원장 기록이 테넌트별로 따로 관리됩니다. "
        "생성 사실은 키 ID와 함께 원장에 기록됩니다.",
    ),
    "tenants.name": ("Name", "이름"),
    "tenants.name_help": (
        "a-z, 0-9, dot, underscore, hyphen; at most 63",
        "영문 소문자·숫자·마침표·밑줄·하이픈, 63자 이내",
    ),
    "tenants.class_none": ("(none: each request says)", "(지정 안 함: 요청마다 지정)"),
    "tenants.create": ("Create tenant", "테넌트 만들기"),
    "tenants.created": (
        "Tenant {name} is created (ledger entry {seq}).",
        "테넌트 {name}을(를) 만들었습니다 (원장 항목 {seq}).",
    ),
    "tenants.count": ("{count} tenants", "테넌트 {count}개"),
    # apps
    "tenants.apps": ("Apps", "앱"),
    "tenants.no_apps": ("No apps yet.", "아직 앱이 없습니다."),
    "tenants.new_app": ("New app", "새 앱"),
    "tenants.create_app": ("Create app", "앱 만들기"),
    "tenants.app_created": (
        "App {app} is created in {tenant} (ledger entry {seq}).",
        "{tenant}에 앱 {app}을(를) 만들었습니다 (원장 항목 {seq}).",
    ),
    # limits and usage
    "tenants.rpm": ("Requests a minute", "분당 요청 수"),
    "tenants.tpm": ("Tokens a minute", "분당 토큰 수"),
    "tenants.budget": ("Token budget", "토큰 예산"),
    "tenants.unlimited": ("no limit", "제한 없음"),
    "tenants.limit_blank": ("blank: no limit", "비워 두면 제한 없음"),
    "tenants.usage": ("Budget used", "예산 사용량"),
    "tenants.used_of": (
        "{used} of {budget} tokens ({percent}%)",
        "{budget} 토큰 중 {used} 사용 ({percent}%)",
    ),
    "tenants.used_only": ("{used} tokens, no budget", "{used} 토큰 사용, 예산 없음"),
    "tenants.usage_unknown": (
        "not counted on this node",
        "이 노드에서는 집계하지 않음",
    ),
    "tenants.usage_help": (
        "Tokens charged against the budget by the gateway's limiter, requests in flight "
        "included. Without Redis each node counts its own since it started.",
        "게이트웨이의 한도 관리기가 예산에서 차감한 토큰 수입니다(처리 중인 요청 포함). "
        "Redis 없이 운영하면 각 노드가 시작된 뒤부터 따로 집계합니다.",
    ),
    "tenants.change_limits": ("Change limits…", "한도 변경…"),
    "tenants.save_limits": ("Save limits", "한도 저장"),
    "tenants.limits_saved": (
        "Limits of {what} are changed (ledger entry {seq}).",
        "{what}의 한도를 변경했습니다 (원장 항목 {seq}).",
    ),
    "tenants.key_named": ("key {key_id}", "키 {key_id}"),
    "tenants.tenant_named": ("tenant {tenant}", "테넌트 {tenant}"),
    "tenants.operator_only": (
        "A tenant's own limits are set by the operator tenant's admins.",
        "테넌트 자체 한도는 운영 테넌트의 관리자만 바꿀 수 있습니다.",
    ),
    # keys: paging and search
    "tenants.keys": ("API keys", "API 키"),
    "tenants.keys_shown": (
        "Keys {first}–{last} of {total}",
        "전체 {total}개 중 {first}–{last}번째 키",
    ),
    "tenants.keys_found": ("Found {total} for “{q}”", "“{q}” 검색 결과 {total}개"),
    "tenants.search": ("Key id or user", "키 ID 또는 사용자"),
    "tenants.search_submit": ("Find", "찾기"),
    "tenants.search_clear": ("All keys", "전체 키"),
    "tenants.next_keys": ("Next keys", "다음 키"),
    "tenants.first_keys": ("First keys", "처음 키"),
    "tenants.all_tenants": ("All tenants", "전체 테넌트"),
    "tenants.issue_limits": ("Limits of the new key", "새 키의 한도"),
    # the ledger: reading a payload
    "tenants.payload_title": ("Read the payload", "페이로드 열람"),
    "tenants.payload_help": (
        "The payload is the request or answer exactly as the gateway sealed it. Reading it "
        "decrypts it: your reason and your key id are recorded in the ledger first, and only "
        "then is it shown — once, on the next page.",
        "페이로드는 게이트웨이가 암호화해 보관한 요청 또는 응답 원문입니다. 열람하면 복호화되며, "
        "열람 사유와 키 ID가 먼저 원장에 기록된 뒤에만 다음 화면에 한 번 표시됩니다.",
    ),
    "tenants.payload_reason": ("Reason for reading", "열람 사유"),
    "tenants.payload_reason_help": (
        "10–500 characters, e.g. the case or request number you are investigating.",
        "10–500자. 조사 중인 사건 번호나 민원 번호 등을 적어 주세요.",
    ),
    "tenants.payload_submit": ("Record the reason and read", "사유를 기록하고 열람"),
    "tenants.payload_not_allowed": (
        "Only auditors may read payloads, each read recorded with its reason.",
        "페이로드는 감사자만 열람할 수 있으며, 열람할 때마다 사유가 기록됩니다.",
    ),
    "tenants.payload_of": ("Payload of ledger entry {seq}", "원장 항목 {seq}의 페이로드"),
    "tenants.payload_recorded": (
        "This read is recorded as ledger entry {seq}.",
        "이 열람은 원장 항목 {seq}에 기록되었습니다.",
    ),
    "tenants.payload_once": (
        "Shown this once: it is not kept in your session. Reading it again is another "
        "recorded read.",
        "이 화면에서 한 번만 표시되며 세션에 남지 않습니다. 다시 보려면 다시 열람해야 하고, "
        "그 또한 기록됩니다.",
    ),
    "tenants.payload_reason_was": ("Reason recorded", "기록된 사유"),
    "tenants.payload_length": ("Length", "길이"),
    "tenants.payload_bytes": ("{length} bytes", "{length}바이트"),
    "tenants.payload_text": ("Content", "내용"),
    "tenants.payload_binary": (
        "Not UTF-8 text; shown as base64.",
        "UTF-8 텍스트가 아니어서 base64로 표시합니다.",
    ),
    "tenants.payload_read_entry": ("The read's ledger entry", "열람 기록 원장 항목"),
    "tenants.payload_back": ("Back to the entry", "원장 항목으로 돌아가기"),
    # providers: health on this node
    "tenants.health": ("Health on this node", "이 노드에서 본 상태"),
    "tenants.health_closed": ("Healthy: requests go through", "정상: 요청 전달 중"),
    "tenants.health_open": (
        "Failing: paused after repeated errors",
        "장애: 연속 오류로 일시 중단",
    ),
    "tenants.health_half-open": (
        "Recovering: one trial request decides",
        "복구 확인 중: 시험 요청 1건으로 판단",
    ),
    "tenants.health_help": (
        "The circuit breaker of this node's gateway. Each node keeps its own; the kill switch "
        "above acts on every node.",
        "이 노드 게이트웨이의 회로 차단기 상태입니다. 노드마다 따로 판단하며, 모든 노드에 "
        "적용되는 것은 차단 스위치입니다.",
    ),
}
