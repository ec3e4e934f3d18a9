"""Labels for the supply-chain page: recorded scans, findings, AI-BOM: key → (English, Korean)."""

MESSAGES: dict[str, tuple[str, str]] = {
    "supply_chain.title": ("AI supply chain", "AI 공급망"),
    "supply_chain.intro": (
        "Scans of your code, models and datasets: unsafe model files, AI SDKs and the cloud AI "
        "services they call, with the operator's jurisdiction. Download the AI-BOM as "
        "CycloneDX and the findings as SARIF.",
        "코드·모델·데이터셋을 점검한 결과입니다. 위험한 모델 파일, AI SDK, 호출하는 클라우드 "
        "AI 서비스와 그 운영사의 국가를 보여 줍니다. AI-BOM은 CycloneDX로, 점검 결과는 "
        "SARIF로 받을 수 있습니다.",
    ),
    "supply_chain.operator_only": (
        "Scans cover the whole organisation's code and models, so only keys of the operator "
        "tenant can see them.",
        "점검 결과는 조직 전체의 코드와 모델을 다루므로 운영 테넌트의 키로만 볼 수 있습니다.",
    ),
    "supply_chain.scans": ("Recorded scans", "기록된 점검"),
    "supply_chain.none": ("No scan recorded yet.", "아직 기록된 점검이 없습니다."),
    "supply_chain.how": (
        "Record a scan with `sumun scan PATH --record`; `sumun comply report` reads the latest.",
        "`sumun scan 경로 --record`로 점검 결과를 기록하면 `sumun comply report`가 가장 최근 "
        "결과를 읽습니다.",
    ),
    "supply_chain.when": ("Scanned", "점검 일시"),
    "supply_chain.target": ("Scanned path", "점검 대상"),
    "supply_chain.components": ("Components", "구성요소"),
    "supply_chain.downloads": ("Downloads", "내려받기"),
    "supply_chain.latest": ("latest", "최신"),
    "supply_chain.cyclonedx": ("AI-BOM (CycloneDX)", "AI-BOM(CycloneDX)"),
    "supply_chain.sarif": ("Findings (SARIF)", "점검 결과(SARIF)"),
    "supply_chain.unreadable": (
        "Scan {id} cannot be read: {error}",
        "점검 {id}을(를) 읽을 수 없습니다: {error}",
    ),
    "supply_chain.findings_of": ("Findings of the scan of {when}", "{when} 점검 결과"),
    "supply_chain.no_findings": ("No findings.", "발견된 문제가 없습니다."),
    "supply_chain.severity": ("Severity", "심각도"),
    "supply_chain.severity.critical": ("critical", "치명"),
    "supply_chain.severity.high": ("high", "높음"),
    "supply_chain.severity.medium": ("medium", "보통"),
    "supply_chain.severity.low": ("low", "낮음"),
    "supply_chain.severity.info": ("info", "정보"),
    "supply_chain.where": ("Where", "위치"),
    "supply_chain.rule": ("Rule", "규칙"),
    "supply_chain.message": ("What was found", "내용"),
    "supply_chain.bom": ("AI-BOM components", "AI-BOM 구성요소"),
    "supply_chain.type": ("Type", "유형"),
    "supply_chain.name": ("Name", "이름"),
    "supply_chain.jurisdiction": ("Jurisdiction", "운영사 국가"),
    "supply_chain.license": ("Licence", "라이선스"),
    "supply_chain.type.machine-learning-model": ("model", "모델"),
    "supply_chain.type.data": ("dataset", "데이터셋"),
    "supply_chain.type.library": ("library", "라이브러리"),
    "supply_chain.type.service": ("cloud AI service", "클라우드 AI 서비스"),
}
