"""Labels for the compliance page: the live report, attestations, the AI register, oversight
reviews: key → (English, Korean)."""

MESSAGES: dict[str, tuple[str, str]] = {
    "compliance.title": ("Compliance", "규제 준수"),
    "compliance.intro": (
        "Korea's requirements assessed against this deployment's real state, the AI system "
        "register, the attestations that cover what no machine can check, and human oversight "
        "of high-impact AI.",
        "이 배포의 실제 상태를 국내 규제 요구사항에 비추어 평가한 결과와 AI 시스템 등록부, "
        "기계로 확인할 수 없는 요구사항의 증빙, 고영향 AI에 대한 사람의 관리·감독을 한곳에서 "
        "봅니다.",
    ),
    "compliance.report": ("Compliance report", "규제 준수 보고서"),
    "compliance.report_html": ("Download printable report (HTML)", "인쇄용 보고서 받기(HTML)"),
    "compliance.report_operator_only": (
        "The report covers every tenant, provider and key of the deployment, so only keys of "
        "the operator tenant can see it.",
        "보고서에는 배포 전체의 테넌트, AI 제공자, 키가 담기므로 운영 테넌트의 키로만 볼 수 "
        "있습니다.",
    ),
    "compliance.generated": (
        "Assessed at {at} from the deployment's live state.",
        "{at}에 현재 배포 상태를 읽어 평가했습니다.",
    ),
    "compliance.catalog_version": (
        "catalog {version}, as of {as_of}",
        "카탈로그 {version} · {as_of} 기준",
    ),
    "compliance.requirement": ("Requirement", "요구사항"),
    "compliance.status": ("Status", "상태"),
    "compliance.evidence": ("Why, and the evidence", "판단 근거와 증거"),
    "compliance.evidence_count": ("Evidence ({n})", "증거 {n}건"),
    "compliance.advice": ("What to do", "조치 방법"),
    "compliance.remedy": ("How to fix", "개선 방법"),
    "compliance.system": ("System", "시스템"),
    "compliance.supporting": (
        "This evidence supports but does not settle the item; an attestation is needed:",
        "아래 근거는 이 항목을 뒷받침할 뿐 충족시키지는 않습니다. 증빙이 필요합니다:",
    ),
    "compliance.supporting_only": ("supporting only", "뒷받침 근거"),
    "compliance.unconfirmed": ("[unconfirmed source]", "[출처 미확인]"),
    "compliance.attested_by": ("attested by {by} (ledger #{seq})", "{by} 증빙(원장 #{seq})"),
    "compliance.status.satisfied": ("Satisfied", "충족"),
    "compliance.status.not-satisfied": ("Not satisfied", "미충족"),
    "compliance.status.undetermined": ("Undetermined", "판단 불가"),
    "compliance.status.needs-attestation": ("Needs attestation", "증빙 필요"),
    "compliance.status.not-applicable": ("Not applicable", "해당 없음"),
    # the register
    "compliance.register": ("AI system register", "AI 시스템 등록부"),
    "compliance.register_help": (
        "What each app is for and whether it is high-impact AI (AI Basic Act art. 33). "
        "Every change is recorded in the ledger.",
        "앱별 이용 목적과 고영향 AI 해당 여부를 기록합니다(인공지능 기본법 제33조). 모든 "
        "변경은 원장에 기록됩니다.",
    ),
    "compliance.register_empty": ("No app is registered yet.", "아직 등록된 앱이 없습니다."),
    "compliance.app": ("App", "앱"),
    "compliance.sector": ("Sector", "업종"),
    "compliance.sector.finance": ("finance", "금융"),
    "compliance.sector.healthcare": ("healthcare", "의료"),
    "compliance.sector.public": ("public", "공공"),
    "compliance.sector.other": ("other", "기타"),
    "compliance.high_impact": ("High-impact AI", "고영향 AI"),
    "compliance.yes_high": ("high-impact", "고영향"),
    "compliance.purpose": ("Purpose", "이용 목적"),
    "compliance.models": ("Models (comma-separated)", "모델(쉼표로 구분)"),
    "compliance.oversight": ("Oversight contact", "관리·감독 책임자"),
    "compliance.keep": ("(keep as registered)", "(기존 값 유지)"),
    "compliance.declare_yes": ("yes: declared high-impact", "예: 고영향 AI로 신고"),
    "compliance.declare_no": ("no: declared not high-impact", "아니요: 고영향 AI 아님으로 신고"),
    "compliance.register_submit": ("Save register entry", "등록부에 저장"),
    "compliance.registered": (
        "{app} is in the register (ledger #{seq}).",
        "{app}을(를) 등록부에 기록했습니다(원장 #{seq}).",
    ),
    # attestations
    "compliance.attestations": ("Attestations", "증빙"),
    "compliance.attestations_help": (
        "Documents for requirements no machine can check. Here by reference (a URL or a "
        "document number); files are kept with `sumun comply attest --file`.",
        "기계로 확인할 수 없는 요구사항의 증빙 문서입니다. 여기서는 URL이나 문서 번호로 "
        "참조하고, 파일 보관은 `sumun comply attest --file`로 합니다.",
    ),
    "compliance.attestations_empty": ("No attestation yet.", "아직 증빙이 없습니다."),
    "compliance.by": ("Attested by", "증빙한 사람"),
    "compliance.when": ("When", "일시"),
    "compliance.documents": ("Documents", "문서"),
    "compliance.ledger": ("Ledger", "원장"),
    "compliance.deployment": ("whole deployment", "배포 전체"),
    "compliance.app_if_per_app": ("App (per-app requirements only)", "앱(앱별 요구사항만)"),
    "compliance.refs": ("References (comma-separated)", "참조 문서(쉼표로 구분)"),
    "compliance.note": ("Note", "메모"),
    "compliance.attest_submit": ("Record attestation", "증빙 기록"),
    "compliance.attested": (
        "{req} attested (ledger #{seq}).",
        "{req} 증빙을 기록했습니다(원장 #{seq}).",
    ),
    # oversight reviews
    "compliance.reviews": ("Human oversight", "사람의 관리·감독"),
    "compliance.reviews_help": (
        "Model calls of high-impact apps wait here for an auditor's review (AI Basic Act art. "
        "34). A review is its own ledger entry; the note is encrypted under the tenant's key.",
        "고영향 AI 앱의 모델 호출은 감사자가 검토할 때까지 여기에 남습니다(인공지능 기본법 "
        "제34조). 검토 하나하나가 원장 항목이 되며, 메모는 테넌트 키로 암호화됩니다.",
    ),
    "compliance.queue": ("Awaiting review: {n}", "검토 대기: {n}건"),
    "compliance.queue_empty": ("Nothing awaits review.", "검토를 기다리는 호출이 없습니다."),
    "compliance.entry": ("Entry", "원장 항목"),
    "compliance.class": ("Class", "등급"),
    "compliance.your_review": ("Your review", "검토 입력"),
    "compliance.outcome": ("Decision", "판단"),
    "compliance.outcome.confirm": ("confirm", "승인"),
    "compliance.outcome.override": ("override", "번복"),
    "compliance.outcome.escalate": ("escalate", "상부 보고"),
    "compliance.outcome.none": ("no decision", "판단 보류"),
    "compliance.flag": ("flag for follow-up", "후속 조치 필요"),
    "compliance.review_submit": ("Record review", "검토 기록"),
    "compliance.reviewed": (
        "Review of entry #{seq} recorded as ledger entry #{entry}.",
        "원장 #{seq} 항목의 검토를 원장 #{entry} 항목으로 기록했습니다.",
    ),
    "compliance.done": ("Reviews recorded", "기록된 검토"),
    "compliance.done_empty": ("No review recorded yet.", "아직 기록된 검토가 없습니다."),
    "compliance.review_entry": ("Review", "검토 항목"),
    "compliance.of_entry": ("Of entry", "검토 대상"),
    "compliance.reviewer": ("Reviewer", "검토자"),
    "compliance.flagged": ("flagged", "후속 조치"),
    "compliance.annotated": ("note attached (encrypted)", "메모 있음(암호화)"),
    "compliance.computed": (
        "Assessed at {at} from the deployment's live state, verifying {size} ledger entries "
        "(the ledger now holds {now}).",
        "{at}에 현재 배포 상태를 읽고 원장 항목 {size}건을 검증해 평가했습니다(현재 원장 "
        "항목 {now}건).",
    ),
    "compliance.stale": (
        "This report is more than 5 minutes old.",
        "만든 지 5분이 지난 보고서입니다.",
    ),
    "compliance.refreshing": (
        "A newer report is being computed in the background; reload the page in a moment.",
        "새 보고서를 백그라운드에서 만들고 있습니다. 잠시 후 페이지를 새로 고치세요.",
    ),
    "compliance.refresh_failed": (
        "The last recomputation failed: {error}",
        "마지막 재평가가 실패했습니다: {error}",
    ),
    "compliance.refresh": ("Recompute now", "지금 다시 평가"),
    "compliance.refresh_started": (
        "A new report is being computed in the background; it replaces the shown one when done.",
        "새 보고서를 백그라운드에서 만들고 있습니다. 다 만들어지면 지금 보고서를 대신합니다.",
    ),
    "compliance.preparing": (
        "The report is being prepared: verifying {n} ledger entries. This page reloads itself "
        "every {s} seconds.",
        "보고서를 준비하고 있습니다. 원장 항목 {n}건을 검증하는 중이며, 이 페이지는 {s}초마다 "
        "저절로 새로 고쳐집니다.",
    ),
    "compliance.prepare_failed": (
        "The report could not be computed: {error}",
        "보고서를 만들지 못했습니다: {error}",
    ),
    "compliance.queue_window": (
        "Looked through ledger entries #{first} to #{last} of {size}.",
        "원장 항목 {size}건 가운데 #{first}부터 #{last}까지 살펴보았습니다.",
    ),
    "compliance.queue_window_empty": (
        "No ledger entries in this window.",
        "이 범위에는 원장 항목이 없습니다.",
    ),
    "compliance.queue_before_note": (
        "Reviews recorded after entry #{last} are not counted on this page.",
        "#{last} 이후에 기록된 검토는 이 페이지에 반영되지 않습니다.",
    ),
    "compliance.queue_further": ("Look further back", "더 이전 항목 살펴보기"),
    "compliance.queue_newest": ("Back to the newest entries", "최신 항목부터 다시 보기"),
}
