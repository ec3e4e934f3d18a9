"""Labels for the policy page and its explain playground: key → (English, Korean)."""

MESSAGES: dict[str, tuple[str, str]] = {
    "policy.title": ("Policy", "정책"),
    "policy.intro": (
        "The policy every node enforces: how requests are classified, what happens to "
        "personal data, and which providers may receive which class of data.",
        "모든 노드가 적용하는 정책입니다. 요청의 등급 분류, 개인정보 처리 방식, 어떤 제공자가 "
        "어떤 등급의 데이터를 받을 수 있는지를 정합니다.",
    ),
    # the policy in force
    "policy.active": ("The policy in force", "적용 중인 정책"),
    "policy.source": ("Source", "출처"),
    "policy.origin": ("Kept in", "보관 위치"),
    "policy.origin.file": (
        "a file on each node (policy_file in sumun.yaml)",
        "각 노드의 파일(sumun.yaml의 policy_file)",
    ),
    "policy.origin.stored": (
        "applied with `sumun policy apply` or here; every node reads it",
        "`sumun policy apply` 또는 이 화면에서 적용됨(모든 노드가 읽음)",
    ),
    "policy.origin.built-in": ("built into Sumun", "수문 기본 내장 정책"),
    "policy.sha256": ("SHA-256", "SHA-256"),
    "policy.in_force": ("On this node", "이 노드"),
    "policy.in_force.yes": ("enforced now", "현재 적용 중"),
    "policy.in_force.no": (
        "not yet enforced: the node still runs the previous policy (or this one does not load)",
        "아직 적용되지 않음: 이 노드는 이전 정책으로 동작 중입니다(또는 이 문서를 읽을 수 없음)",
    ),
    "policy.builtin": (
        "No policy document has been applied: Sumun's built-in policy is in force.",
        "적용된 정책 문서가 없어 수문의 기본 내장 정책이 적용 중입니다.",
    ),
    "policy.from_file": (
        "This deployment reads its policy from a file on each node: edit that file; it "
        "cannot be applied from here.",
        "이 배포는 각 노드의 파일에서 정책을 읽습니다. 그 파일을 수정하세요. 여기서는 적용할 "
        "수 없습니다.",
    ),
    "policy.document": ("Document", "정책 문서"),
    "policy.at": ("Line {line}, column {column}", "{line}행 {column}열"),
    "policy.at_line": ("Line {line}", "{line}행"),
    "policy.rules_in_force": ("Rules in force", "적용 중인 규칙"),
    "policy.pii_rules": (
        "Personal data rules (the first that matches wins)",
        "개인정보 규칙(처음 일치하는 규칙 적용)",
    ),
    "policy.rule": ("Rule", "규칙"),
    "policy.types": ("Types", "유형"),
    "policy.action": ("Action", "조치"),
    "policy.when": ("For providers", "대상 제공자"),
    "policy.any_provider": ("any", "모두"),
    "policy.default_action": ("Otherwise", "그 밖의 경우"),
    "policy.no_rules": ("No rules.", "규칙이 없습니다."),
    "policy.floor": (
        "Sent as they are, these raise a request to class {cls}: {types}",
        "다음 식별자가 원문 그대로 나가면 요청 등급이 {cls}(으)로 올라갑니다: {types}",
    ),
    "policy.markers": ("Own content markings", "자체 등급 표시"),
    "policy.admission": ("What a provider must declare", "제공자가 갖춰야 할 조건"),
    "policy.admission.C": (
        "For C: hosting {hosting}; keys held by {custody}",
        "C 등급: 호스팅 {hosting}, 키 보관 {custody}",
    ),
    "policy.admission.S": (
        "For S: hosting {hosting}; retention at most {days} days; {training}",
        "S 등급: 호스팅 {hosting}, 보존 기간 최대 {days}일, {training}",
    ),
    "policy.no_training": ("no training on the data", "데이터 학습 금지"),
    "policy.training_allowed": ("training not checked", "학습 여부 확인 안 함"),
    "policy.output_scan": (
        "Model answers are scanned for personal data too.",
        "모델 응답에서도 개인정보를 검사합니다.",
    ),
    # validate and apply
    "policy.validate": ("Check a policy", "정책 검사"),
    "policy.validate_help": (
        "Paste a policy (YAML). It is checked as `sumun policy check` checks a file; nothing "
        "changes until it is applied.",
        "정책(YAML)을 붙여 넣으세요. `sumun policy check`와 같은 방식으로 검사하며, 적용하기 "
        "전에는 아무것도 바뀌지 않습니다.",
    ),
    "policy.pasted": ("Policy to check", "검사할 정책"),
    "policy.check": ("Check", "검사"),
    "policy.valid": ("Valid: this policy can be applied.", "유효함: 이 정책은 적용할 수 있습니다."),
    "policy.invalid": (
        "Not valid: {n} problem(s), shown next to their lines.",
        "유효하지 않음: 문제 {n}건, 해당 줄 옆에 표시했습니다.",
    ),
    "policy.apply": ("Apply to every node…", "모든 노드에 적용…"),
    "policy.apply_not_yours": (
        "Applying a policy acts on every tenant: only admins of the operator tenant may.",
        "정책 적용은 모든 테넌트에 영향을 주므로 운영 테넌트의 관리자만 할 수 있습니다.",
    ),
    "policy.confirm.title": ("Apply this policy?", "이 정책을 적용할까요?"),
    "policy.confirm.body": (
        "Within 1 second every node enforces this policy for every new request, in every "
        "tenant. The change is recorded in the ledger under your key id with the document's "
        "SHA-256.",
        "1초 안에 모든 노드가 모든 테넌트의 새 요청에 이 정책을 적용합니다. 변경은 키 ID와 "
        "문서의 SHA-256과 함께 원장에 기록됩니다.",
    ),
    "policy.confirm.go": ("Yes, apply it", "적용 확인"),
    "policy.applied": (
        "The policy is applied (SHA-256 {sha}…, ledger entry {seq}); every node enforces it "
        "within 1 second.",
        "정책을 적용했습니다(SHA-256 {sha}…, 원장 항목 {seq}). 1초 안에 모든 노드에 적용됩니다.",
    ),
    # explain
    "policy.explain": ("Explain a prompt", "프롬프트 판정 미리 보기"),
    "policy.explain_help": (
        "See what the policy in force would do with a prompt, without sending it anywhere. "
        "The prompt is not stored or logged.",
        "적용 중인 정책이 프롬프트를 어떻게 처리할지 실제로 보내지 않고 확인합니다. "
        "프롬프트는 저장되거나 기록되지 않습니다.",
    ),
    "policy.prompt": ("Prompt", "프롬프트"),
    "policy.model": ("Model (route)", "모델(경로)"),
    "policy.declared": ("Declared class", "지정 등급"),
    "policy.declared.none": ("none: from the content", "지정 안 함: 내용으로 판단"),
    "policy.run": ("Explain", "판정 보기"),
    "policy.result": ("Result", "판정 결과"),
    "policy.class": ("Class", "등급"),
    "policy.why": ("Why", "근거"),
    "policy.found": ("Personal data found", "발견된 개인정보"),
    "policy.found_none": ("No personal data found.", "개인정보가 발견되지 않았습니다."),
    "policy.type": ("Type", "유형"),
    "policy.where": ("Position", "위치"),
    "policy.preview": ("Preview", "미리 보기"),
    "policy.decision": ("Decision", "결정"),
    "policy.decision.allow": ("allowed as it is", "그대로 허용"),
    "policy.decision.transform": (
        "sent with personal data masked or pseudonymized",
        "개인정보를 가리거나 가명 처리해 전송",
    ),
    "policy.decision.reroute": ("sent to another provider", "다른 제공자로 전환"),
    "policy.decision.block": ("refused", "차단"),
    "policy.rules": ("Rules", "규칙"),
    "policy.per_provider": ("What each provider would receive", "제공자별 수신 내용"),
    "policy.provider": ("Provider", "제공자"),
    "policy.admitted": ("Admitted", "허용"),
    "policy.up_to": ("up to {cls}", "{cls} 등급까지"),
    "policy.receives": ("Would receive", "받게 될 내용"),
    "policy.refused": ("Refused: {why}", "거부: {why}"),
    "policy.chosen": ("chosen", "선택됨"),
    "policy.cut": ("cut off", "차단됨"),
}
