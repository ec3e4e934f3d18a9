"""Labels for the overview's charts: key → (English, Korean)."""

MESSAGES: dict[str, tuple[str, str]] = {
    "overview.usage.heading": ("Usage", "사용 현황"),
    "overview.usage.window": ("Window", "기간"),
    "overview.usage.w_1h": ("last hour", "최근 1시간"),
    "overview.usage.w_24h": ("last 24 hours", "최근 24시간"),
    "overview.usage.w_7d": ("last 7 days", "최근 7일"),
    "overview.usage.about": (
        "Requests admitted by the gateway, read from the usage rollup that every node writes "
        "every 5 seconds (never from the ledger). Times are UTC; latency percentiles are read "
        "from fixed latency buckets.",
        "게이트웨이가 받아들인 요청입니다. 각 노드가 5초마다 기록하는 사용량 집계에서 읽으며, "
        "원장을 훑지 않습니다. 시각은 UTC이고, 지연 시간 백분위수는 고정 구간 히스토그램에서 "
        "계산한 값입니다.",
    ),
    "overview.usage.empty": ("No requests in this window", "이 기간에는 요청이 없습니다"),
    "overview.usage.requests": ("Requests", "요청"),
    "overview.usage.errors": ("Errors", "오류"),
    "overview.usage.tokens": ("Tokens", "토큰"),
    "overview.usage.tokens_in": ("Tokens in", "입력 토큰"),
    "overview.usage.spend": ("Spend", "비용"),
    "overview.usage.unpriced": ("{n} of unknown cost", "비용 미상 {n}건"),
    "overview.usage.tokens_out": ("Tokens out", "출력 토큰"),
    "overview.usage.requests_title": ("Requests over time", "시간대별 요청 수"),
    "overview.usage.requests_desc": (
        "Requests per time bucket, {window}: {requests} in all, {errors} answered with an error.",
        "{window} 구간별 요청 수: 모두 {requests}건, 그중 오류 응답 {errors}건.",
    ),
    "overview.usage.tokens_title": ("Tokens over time", "시간대별 토큰 사용량"),
    "overview.usage.tokens_desc": (
        "Tokens per time bucket, {window}: {tokens_in} in, {tokens_out} out.",
        "{window} 구간별 토큰 사용량: 입력 {tokens_in}, 출력 {tokens_out}.",
    ),
    "overview.usage.latency_title": ("Latency p50 and p99", "지연 시간 (p50 · p99)"),
    "overview.usage.latency_desc": (
        "Median and 99th-percentile latency per time bucket, {window}: p50 {p50}, p99 {p99} "
        "over the whole window.",
        "{window} 구간별 지연 시간의 중앙값과 99번째 백분위수. 기간 전체로는 p50 {p50}, p99 {p99}.",
    ),
    "overview.usage.decisions_title": ("Decisions over time", "시간대별 처리 결정"),
    "overview.usage.decisions_desc": (
        "Requests per time bucket stacked by policy decision, {window}: {figures}.",
        "{window} 구간별 요청을 정책 결정별로 쌓은 막대: {figures}.",
    ),
    "overview.usage.d_allowed": ("Allowed", "허용"),
    "overview.usage.d_masked": ("Masked", "마스킹"),
    "overview.usage.d_pseudonymized": ("Pseudonymized", "가명 처리"),
    "overview.usage.d_rerouted": ("Rerouted", "경로 변경"),
    "overview.usage.d_blocked": ("Blocked", "차단"),
    "overview.usage.by_tenant_title": ("Requests by tenant", "테넌트별 요청 수"),
    "overview.usage.by_provider_title": ("Requests by provider", "AI 제공자별 요청 수"),
    "overview.usage.by_desc": (
        "Requests in the {window}, largest first: {figures}.",
        "{window} 동안의 요청 수, 많은 순: {figures}.",
    ),
    "overview.usage.others": ("{n} others", "그 외 {n}곳"),
    "overview.usage.p50": ("p50", "p50"),
    "overview.usage.p99": ("p99", "p99"),
    "overview.usage.none_upstream": (
        "“none”: nothing went upstream (a blocked request).",
        "“none”은 외부로 나가지 않은 요청(차단)입니다.",
    ),
}
