"""Corpora for the classifier, both ways (deterministic: same seed, same texts).

    python tests/data/classify/make_corpus.py [--seed 14] [-o DIR]   # writes two .jsonl files

- `running_text()`: ordinary business Korean and English in which the marking words appear in
  running text — password resets (비밀번호, 비밀 번호), NDAs (비밀유지계약), trade-secret law
  (영업비밀), recipes ("the secret to a good kimchi", "top secret recipe"), 비밀리에, secretary,
  Victoria's Secret, OAuth client secrets, e-mail confidentiality disclaimers, questions *about*
  the grades ("3급 비밀 취급인가는 어떻게 받나요?"), 대외비용 (external costs) … Each record:
  {"text", "lang", "topic"}; none is a marking, so none may be classified C.
- `marked_documents()`: short documents marked the way agencies and companies mark them: a
  marking line at the top and/or bottom (often centred), decorated or boxed (`- 대외비 -`,
  `// SECRET //`, `【Ⅲ급 비밀】`), a bracketed tag on the title line, a labelled field or marking
  table (`보안등급: 비밀`, `| 보안등급 | Ⅲ급 비밀 |`), caveats and release dates
  (`TOP SECRET//NOFORN`, `대외비 (2026. 12. 31.까지)`), a sentence stating the grade, with
  varied spacing, full-width forms, roman-numeral and digit grades, CRLF line ends. Each record:
  {"text", "class" (C or S), "form", "term"}.

The marking forms follow the Security Work Regulation (보안업무규정, grades Ⅰ·Ⅱ·Ⅲ급 비밀, art. 4)
and the stamp practice reported in docs/policy.md ("What counts as a marking"). The bodies are
invented business prose; the running-text sentences were written from the list of everyday uses
of the words, not from the classifier's rules.
"""

from __future__ import annotations

import argparse
import json
import random
import unicodedata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WIDE = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:[]<>()/",
    "ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ"
    "０１２３４５６７８９：［］＜＞（）／",
)

NAMES = [
    "김민준",
    "이서연",
    "박지호",
    "최유진",
    "정하늘",
    "강도윤",
    "윤서아",
    "한지민",
    "오세훈",
    "임채원",
]
TEAMS = ["고객지원팀", "재무팀", "법무팀", "인사팀", "개발팀", "구매팀", "영업2팀", "보안팀"]
CHANNELS = ["문자", "이메일", "카카오톡", "앱 알림"]
SERVICES = ["인터넷뱅킹", "사내 메일", "그룹웨어", "쇼핑몰 계정", "공동인증서", "와이파이", "ERP"]
EN_NAMES = ["Alex", "Jordan", "Sam", "Taylor", "Morgan", "Chris", "Jamie", "Casey"]
EN_THINGS = ["the quarterly report", "the onboarding deck", "the vendor contract", "the Q3 plan"]
DISHES = ["김치찌개", "된장찌개", "불고기", "잡채", "떡볶이", "갈비찜", "kimchi", "bibimbap"]

# (topic, templates); {n} name, {t} team, {c} channel, {s} service, {d} dish, {x} number
KO_TEMPLATES: list[tuple[str, list[str]]] = [
    (
        "password",
        [
            "{s} 비밀번호를 잊어버렸어요. 재설정 링크를 {c}로 보내 주세요.",
            "{s} 비밀 번호를 잊었어요. 어떻게 찾을 수 있나요?",
            "비밀번호 변경 주기가 {x}일로 바뀌었다고 {t}에서 공지했습니다.",
            "비밀 번호를 {x}번 틀려서 {s} 계정이 잠겼습니다.",
            "{n}님, 초기 비밀번호는 첫 로그인 후 바로 변경해 주세요.",
            "2차 비밀번호 설정 화면이 {s}에서 안 떠요.",
            "비밀번호 재설정 메일이 {c}로 오지 않습니다. 확인 부탁드립니다.",
            "{s}의 비밀번호 규칙(특수문자 포함 {x}자 이상)을 정리해 줘.",
            "계정 비밀번호와 공동인증서 비밀번호가 달라서 헷갈려요.",
            "비밀 번호 찾기 버튼을 눌러도 {c} 인증이 안 됩니다.",
        ],
    ),
    (
        "nda",
        [
            "{n} 변호사님, 비밀유지계약서(NDA) 초안 검토 부탁드립니다.",
            "협력사와 비밀유지계약을 {x}년 기간으로 체결할 예정입니다.",
            "비밀 유지 의무 조항에서 예외 사유를 어떻게 쓰는 게 좋을까요?",
            "{t}에서 비밀유지협약서 서명본을 {c}로 보내 달라고 합니다.",
            "퇴사자 비밀유지서약서 양식을 최신 버전으로 바꿔 주세요.",
            "상대방이 비밀유지계약 위반 시 손해배상액을 {x}억 원으로 하자고 합니다.",
            "이 계약의 비밀정보 정의 조항이 너무 넓은 것 같아요.",
            "비밀 유지 기간을 계약 종료 후 {x}년으로 하는 게 일반적인가요?",
        ],
    ),
    (
        "trade-secret-law",
        [
            "영업비밀 보호법 위반 사례를 {x}건 정도 정리해 줄 수 있을까요?",
            "부정경쟁방지 및 영업비밀보호에 관한 법률 제{x}조의 요건이 궁금합니다.",
            "퇴사한 직원이 영업비밀을 유출한 것 같은데 {t}에 알려야 하나요?",
            "영업비밀 침해 소송에서 비밀관리성은 어떻게 입증하나요?",
            "기술 유출과 영업비밀 침해의 차이를 {n}님께 설명드려야 해요.",
            "우리 회사 제조 공정이 영업비밀로 인정받으려면 무엇이 필요할까요?",
        ],
    ),
    (
        "everyday",
        [
            "{d}의 비밀은 충분히 끓이는 시간이라고 하더라고요.",
            "할머니의 {d} 비밀 레시피를 블로그에 올려도 될까요?",
            "{n}님 생일 파티는 비밀리에 준비하고 있어요.",
            "이건 우리끼리 비밀이야. {n}님한테는 말하지 마.",
            "이 내용은 당분간 비밀로 해 주세요. {x}월에 공지할 예정입니다.",
            "비밀의 화원 같은 정원을 {t} 휴게실에 만들고 싶어요.",
            "비밀 투표로 {t} 대표를 뽑기로 했습니다.",
            "비밀 선거 원칙이 왜 중요한지 {x}문장으로 설명해 줘.",
            "상담 내용은 비밀이 보장되니 편하게 말씀하세요.",
            "게시판에 비밀글로 문의를 남겼는데 답변이 없어요.",
            "{n}님이 비밀스럽게 웃길래 무슨 일인지 물어봤어요.",
            "성공의 비밀은 꾸준함이라는 말에 동의하시나요?",
            "비밀 병기라도 있는 것처럼 {t}가 자신만만합니다.",
            "비밀 댓글 기능을 {s}에 추가해 달라는 요청이 {x}건 들어왔어요.",
            "영화 <비밀> 줄거리를 {x}줄로 요약해 줘.",
            "우리 가게 {d} 맛의 비밀을 손님들이 자꾸 물어봐요.",
            "비밀 상담 창구를 {t}에서 운영한다고 합니다.",
            "이 앱은 비밀 메시지가 {x}초 뒤에 사라져요.",
            "아이들이 비밀 기지를 만든다고 상자를 모으고 있어요.",
            "비밀 정원 테마로 {t} 워크숍 장소를 꾸몄습니다.",
        ],
    ),
    (
        "about-grades",
        [
            "3급 비밀 취급인가는 어떻게 받나요? {t}에 문의하면 되나요?",
            "Ⅱ급 비밀과 대외비의 차이를 {n}님께 설명해 주세요.",
            "군사 2급 비밀 유출 사건 기사를 {x}줄로 요약해 줘.",
            "비밀 취급 인가 갱신 주기가 {x}년인가요?",
            "보안 교육에서 Ⅰ급 비밀의 보관 방법을 배웠습니다.",
            "비밀 문서 파기 절차를 {t} 신입에게 알려 주세요.",
            "대외비 문서 관리 지침을 새로 만들어야 합니다.",
            "대외비 자료가 외부로 유출된 사고가 {x}건 보고되었습니다.",
            "대외비 표시 기준이 부서마다 달라서 혼란스럽습니다.",
            "비밀 등급 분류 기준을 {t}에서 정리해 달라고 합니다.",
            "우리 기관은 비밀 관리 기록부를 {x}년 동안 보관합니다.",
        ],
    ),
    (
        "structure",  # headings, list items, clause titles, quotes: shapes near a marking's
        [
            "## 비밀번호 재설정 방법\n1. {s} 접속\n2. 비밀번호 찾기 선택",
            "제{x}조(비밀 유지) 양 당사자는 상대방의 정보를 제3자에게 공개하지 아니한다.",
            "- 비밀 유지 조항 검토\n- 손해배상 한도 확인",
            "비밀 유지\n계약 종료 후에도 {x}년간 효력이 있습니다.",
            '"비밀"이라는 단어를 영어로 번역하면 무엇인가요?',
            "문서 상단에 '대외비'라고 쓰면 되나요, 아니면 도장을 찍어야 하나요?",
            "보안등급은 대외비로 해 달라고 {n}님이 말씀하셨는데 맞나요?",
            "대외비 문서는 어디에 보관해야 하나요?",
            "비밀 보장\n상담 내용은 외부에 공개되지 않습니다.",
            "1. 비밀번호 변경\n2. 2단계 인증 설정\n3. 로그아웃",
            "다음 단어로 짧은 문장을 만들어 줘:\n- 비밀\n- 약속\n- 우정\n고마워요.",
            "보안 등급 종류를 설명해 줘:\n• 대외비\n• 비밀\n• 일반\n차이가 뭔가요?",
            "《비밀》 시청 후기를 {x}줄로 써 줘.",
            "〈비밀〉이라는 시의 주제가 뭔가요?",
            "| 구분 | 내용 |\n|---|---|\n| 비밀 | 작성자만 봅니다 |\n| 공개 | 누구나 봅니다 |",
            "| 구분 | 내용 |\n|---|---|\n| 공개 | 누구나 봅니다 |\n| 비밀 | 작성자만 봅니다 |",
            "공개 범위 설정표\n비밀        작성자만 봅니다\n공개        누구나 봅니다\n끝.",
            "비밀 (秘密): 숨기어 남에게 드러내거나 알리지 말아야 할 일.",
            "[비밀 번호 변경 안내] {s} 비밀번호가 {x}일 뒤 만료됩니다.",
        ],
    ),
    (
        "s-words",
        [
            "올해 대외비용 절감 목표는 {x}%입니다.",
            "대외비용 집행 내역을 {t}에 제출해 주세요.",
            "내부용 노트북 {x}대 구매 요청을 올렸습니다.",
            "내부용 메신저가 {s}와 연동되지 않아요.",
            "이번 공지는 내부 한정으로 배포되나요, 아니면 외부에도 나가나요?",
            "내부용과 외부용 견적서 양식을 구분해 주세요.",
            "{n}님, 내부 한정 행사 참석자 명단을 {c}로 보내 주세요.",
        ],
    ),
]

EN_TEMPLATES: list[tuple[str, list[str]]] = [
    (
        "password",
        [
            "Hi {e}, I forgot my {s} password; can you send a reset link?",
            "Please rotate the client secret for the {s} integration before Friday.",
            "The OAuth client secret expired {x} days ago and logins fail.",
            "Store the API secret in the Secrets Manager, not in the repo.",
            "{e} asked how often we should rotate the webhook secret.",
            "The shared secret for the VPN was changed {x} hours ago.",
        ],
    ),
    (
        "everyday",
        [
            "The secret to a good {d} is time and patience.",
            "My grandmother's top secret recipe for {d} uses fish sauce.",
            "{e} bought a gift at Victoria's Secret for the team raffle.",
            "The secretary will send the agenda to {e} by {x} pm.",
            "We're doing Secret Santa again this year; the limit is ${x}.",
            "Can you keep a secret? {e} is getting promoted.",
            "The Secret Garden is {e}'s favourite book.",
            "It's no secret that {t2} has been short-staffed for {x} weeks.",
            "{e} secretly prepared a farewell video for the team.",
            "What's the secret behind their {x}% growth this year?",
            "A secret ballot will decide the new committee chair.",
            "The secretary-general spoke for {x} minutes at the forum.",
        ],
    ),
    (
        "structure",
        [
            "Secret: I have never liked coffee, {e}.",
            "Top Secret: our new product launch party is on the {x}th!",
            "Secret ingredient: a spoon of fish sauce in the {d}.",
            "2. Confidential Information\nEach party shall protect the other's data for {x} years.",
            "Confidential Information\nmeans any information disclosed by {e}.",
            "### The secret to good {d}\nSimmer it for {x} minutes.",
            "Re: confidential matter from {e}",
            "kind: Secret\nmetadata:\n  name: db-credentials-{x}",
            "export CLIENT_SECRET=changeme-{x}",
            "Secret Santa {x} — sign up by Friday",
            "SECRET_KEY = os.environ['SECRET_KEY']  # {x}",
            'api_secret = os.environ["SECRET"]',
            "Vocabulary:\n- secret\n- promise\n- friendship",
        ],
    ),
    (
        "legal",
        [
            "Trade secret law protects the formula only if it is kept confidential.",
            "Please review the confidentiality agreement {e} sent on Monday.",
            "This email and any attachments are confidential and intended only for {e}.",
            "Treat the salary figures as confidential until {x} March.",
            "The confidential informant testified for {x} hours.",
            "Our NDA defines confidential information too broadly, says {e}.",
            "{e} asked whether doctor-patient confidentiality covers e-mail.",
            "We need a non-disclosure agreement before sharing {th}.",
        ],
    ),
    (
        "about-grades",
        [
            "How does a Top Secret clearance differ from a Secret one, {e}?",
            "The article explains how the US grades papers confidential, secret or top secret.",
            "{e} is writing a thesis on Korea's secret classification grades.",
            "How long does a secret clearance take to process? About {x} months?",
        ],
    ),
]

GREETINGS_KO = [
    "",
    "안녕하세요. ",
    "수고 많으십니다. ",
    "{n}입니다. ",
    "급히 여쭙니다. ",
    "참고로, ",
]
CLOSINGS_KO = ["", " 감사합니다.", " 확인 부탁드립니다.", " 답변 기다리겠습니다.", " 고맙습니다!"]
GREETINGS_EN = ["", "Hi all, ", "Quick question: ", "FYI, ", "Hello {e}, "]
CLOSINGS_EN = ["", " Thanks!", " Let me know.", " Cheers.", " Thanks in advance."]


def _fill(template: str, rng: random.Random) -> str:
    return template.format(
        n=rng.choice(NAMES),
        t=rng.choice(TEAMS),
        c=rng.choice(CHANNELS),
        s=rng.choice(SERVICES),
        d=rng.choice(DISHES),
        x=rng.randint(2, 90),
        e=rng.choice(EN_NAMES),
        t2=rng.choice(["the support desk", "finance", "the night shift", "QA"]),
        th=rng.choice(EN_THINGS),
    )


def running_text(seed: int = 14, n: int = 2400) -> list[dict[str, Any]]:
    """`n` distinct sentences (or two-sentence messages) with the words in running text."""
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    pools = [("ko", t, KO_TEMPLATES, GREETINGS_KO, CLOSINGS_KO) for t in range(3)]
    pools.append(("en", 0, EN_TEMPLATES, GREETINGS_EN, CLOSINGS_EN))
    attempts = 0
    while len(out) < n and attempts < n * 50:
        attempts += 1
        lang, _w, groups, greetings, closings = rng.choice(pools)
        topic, templates = rng.choice(groups)
        text = _fill(rng.choice(greetings) + rng.choice(templates) + rng.choice(closings), rng)
        if rng.random() < 0.2:  # a second sentence, sometimes on its own line
            _t2, more = rng.choice(groups)
            text += rng.choice([" ", "\n"]) + _fill(rng.choice(more), rng)
        if text not in seen:
            seen.add(text)
            out.append({"text": text, "lang": lang, "topic": topic})
    return out


# -- marked documents ------------------------------------------------------------------------------

C_TERMS = [
    "Ⅰ급 비밀",
    "Ⅱ급 비밀",
    "Ⅲ급 비밀",
    "Ⅱ급비밀",
    "III급 비밀",
    "II급비밀",
    "1급 비밀",
    "2급비밀",
    "３급 비밀",
    "군사 Ⅱ급 비밀",
    "군사2급비밀",
    "Ⅱ·Ⅲ급 비밀",
    "비밀",
    "SECRET",
    "TOP SECRET",
    "Top Secret",
    "ＳＥＣＲＥＴ",
]
S_TERMS = [
    "대외비",
    "내부용",
    "CONFIDENTIAL",
    "Confidential",
    "ＣＯＮＦＩＤＥＮＴＩＡＬ",
    "내부 한정",
    "STRICTLY CONFIDENTIAL",
    "PRIVATE AND CONFIDENTIAL",
]
TITLES = [
    "2026년 3분기 실적 전망",
    "차기 사업 추진 계획(안)",
    "협력사 보안 점검 결과 보고",
    "정보시스템 구축 사업 제안요청서",
    "조직 개편 검토안",
    "Q3 revenue outlook",
    "Network migration plan",
]
BODY = [
    "1. 추진 배경: 노후 장비 교체 및 운영 효율화.",
    "2. 주요 내용: 단계별 이전 일정과 소요 예산을 정리함.",
    "3. 향후 계획: 관계 부서 협의 후 {x}월 중 시행.",
    "담당: {t} {n} (내선 {x}{x})",
    "붙임: 세부 일정표 1부. 끝.",
    "Summary: costs fall {x}% after the migration; risks are listed in annex {x}.",
    "비밀번호 정책 변경 사항은 별도 공지 예정.",  # running-text word inside a marked document
    "회의 일시: 2026. {x}. {x}. 14:00, 대회의실",
]
SPACES = ["", " ", "  ", "\t", "　", "                    "]  # centring, tabs, full-width space
DECOR = [
    ("{m}", "{m}"),
    ("- {m} -", "- {m} -"),
    ("// {m} //", "// {m} //"),
    ("[{m}]", "[{m}]"),
    ("【{m}】", "【{m}】"),
    ("<{m}>", "<{m}>"),
    ("［{m}］", "［{m}］"),
    ("〔{m}〕", "〔{m}〕"),
    ("== {m} ==", "== {m} =="),
    ("**{m}**", "**{m}**"),
    ("※ {m} ※", "※ {m} ※"),
    ("■ {m} ■", "■ {m} ■"),
]
TAILS = [
    "",
    " (2026. 12. 31.까지)",
    " (사본 2/5)",
    " 취급주의",
    "//NOFORN",
    "//REL TO KOR, USA",
    "  - 3 -",
    " (해제 예고: 2027. 1. 1. 일반문서로 재분류)",
]
LABELS = ["분류", "보안등급", "보안 등급", "문서등급", "비밀등급", "Classification", "보안분류"]
SEPARATORS = [": ", " : ", "：", ":", " = ", " | "]


def _ro(word: str) -> str:
    """The particle 로/으로 after `word`: 으로 after a final consonant other than ㄹ."""
    final = (ord(word[-1]) - 0xAC00) % 28 if "가" <= word[-1] <= "힣" else 0
    return "로" if final in (0, 8) else "으로"


def _body(rng: random.Random) -> list[str]:
    lines = [_fill(line, rng) for line in rng.sample(BODY, rng.randint(2, 5))]
    return lines


def _mark_line(term: str, rng: random.Random) -> str:
    left, _right = rng.choice(DECOR)
    tail = rng.choice(TAILS) if rng.random() < 0.35 else ""
    if tail.startswith("//") and not term.isascii():
        tail = ""  # caveats follow the English marking
    line = rng.choice(SPACES) + left.format(m=term) + tail
    return line.translate(WIDE) if rng.random() < 0.08 and term.isascii() else line


def _header(form: str, term: str, title: str, rng: random.Random) -> str:
    """A two-column page header (number and marking) over the title, or a mail subject."""
    if form == "header-columns":
        number = f"{rng.choice(['기획', '총무', 'Plan'])}-{rng.randint(100, 999)}"
        gap = rng.choice(["      ", "\t", "\t\t", "                         "])
        columns = f"{number}{gap}{term}" if rng.random() < 0.5 else f"{term}{gap}{number}"
        return f"{columns}\n{title}"
    prefix = rng.choice(["제목: ", "Subject: ", "RE: ", "FW: ", "회신: ", "Re: Fwd: "])
    bracket = rng.choice(["[{m}]", "【{m}】", "<{m}>"])
    return f"{prefix}{bracket.format(m=term)} {title}"


def _table(form: str, term: str, rng: random.Random) -> list[str]:
    """A marking table: the label in the cell before, or in the header row."""
    if form == "table":
        label = rng.choice(["보안등급", "분류", "문서등급"])
        return [
            "| 항목 | 내용 |",
            "|---|---|",
            f"| 문서번호 | 기획-{rng.randint(100, 999)} |",
            f"| {label} | {term} |",
        ]
    return [
        "| 문서명 | 보안등급 | 작성부서 |",
        "|---|---|---|",
        f"| {rng.choice(TITLES)} | {term} | {rng.choice(TEAMS)} |",
    ]


def _statement(term: str, rng: random.Random) -> str:
    """A sentence stating the document's grade."""
    if unicodedata.normalize("NFKC", term).isascii():
        stated = rng.choice(
            [
                "This document is classified {m}.",
                "This document is classified as {m}.",
                "The attached report is marked {m}.",
            ]
        )
    elif term == "비밀":
        stated = rng.choice(["본 문서는 비밀로 분류됨.", "이 자료는 비밀로 지정되어 있습니다."])
    else:
        stated = rng.choice(
            [
                "본 문서는 {m}{ro} 분류됨.",
                "이 문서는 {m}입니다. 무단 배포를 금합니다.",
                "본 자료는 {m}{ro} 관리되므로 외부 반출을 금함.",
                "해당 보고서는 {m}임.",
            ]
        )
    return stated.format(m=term, ro=_ro(term))


def _document(form: str, term: str, rng: random.Random) -> str:
    title = rng.choice(TITLES)
    body = _body(rng)
    if form == "top":
        lines = [_mark_line(term, rng), "", title, *body]
    elif form == "bottom":
        lines = [title, *body, "", _mark_line(term, rng)]
    elif form == "top-bottom":
        mark = _mark_line(term, rng)
        lines = [mark, title, *body, mark]
    elif form == "page-header":  # a marking repeated at the top of a later page
        lines = [title, *body[:1], "", _mark_line(term, rng), *body[1:]]
    elif form == "tag-open":
        bracket = rng.choice(["[{m}]", "【{m}】", "<{m}>", "［{m}］", "〔{m}〕"])
        lines = [f"{bracket.format(m=term)} {title}", *body]
    elif form == "tag-close":
        bracket = rng.choice(["[{m}]", "【{m}】", "<{m}>", "〔{m}〕"])
        lines = ["안녕하세요. 자료 공유드립니다.", f"{title} {bracket.format(m=term)}", *body]
    elif form == "label":
        label = rng.choice(LABELS)
        lines = [title, f"{label}{rng.choice(SEPARATORS)}{term}", *body]
    elif form == "field":
        field = f"{rng.choice(LABELS)}: {term}"
        lines = [title, f"작성: {rng.choice(TEAMS)} / {field} / 2026. {rng.randint(1, 12)}.", *body]
    elif form in ("table", "table-header"):
        lines = [title, *_table(form, term, rng), *body]
    elif form in ("header-columns", "mail-subject"):
        lines = [_header(form, term, title, rng), "", *body]
    elif form == "lead":  # English C markings lead in capitals, as they are stamped
        sep = rng.choice([": ", " — ", " - ", " | ", "//"])
        lead = term.upper() if "ecret" in term else term
        lines = [f"{lead}{sep}{title}", *body]
    else:  # "statement"
        lines = [title, _statement(term, rng), *body]
    newline = "\r\n" if rng.random() < 0.1 else "\n"
    return newline.join(lines)


FORMS = [
    "top",
    "bottom",
    "top-bottom",
    "page-header",
    "tag-open",
    "tag-close",
    "label",
    "field",
    "table",
    "table-header",
    "lead",
    "statement",
    "header-columns",
    "mail-subject",
]


def marked_documents(seed: int = 14, n: int = 1200) -> list[dict[str, Any]]:
    """`n` distinct marked documents, every form with every term, the rest at random."""
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    terms = [(t, "C") for t in C_TERMS] + [(t, "S") for t in S_TERMS]
    plan = [(form, term, cls) for form in FORMS for term, cls in terms]
    while len(plan) < n:
        form = rng.choice(FORMS)
        term, cls = rng.choice(terms)
        plan.append((form, term, cls))
    for form, term, cls in plan:
        for _try in range(20):
            text = _document(form, term, rng)
            if text not in seen:
                seen.add(text)
                out.append({"text": text, "class": cls, "form": form, "term": term})
                break
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("-o", "--out", type=Path, default=HERE)
    args = parser.parse_args()
    for name, records in (
        ("running_text.jsonl", running_text(args.seed)),
        ("marked.jsonl", marked_documents(args.seed)),
    ):
        with (args.out / name).open("w", encoding="utf-8") as fh:
            for record in records:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        print(f"{name}: {len(records)} records")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
