"""What to do about a finding: one line per rule id, in Korean and English.

The HTML report shows it under each finding and the SARIF log as each rule's `help`. Keyed by
the exact rule id an analyzer emits; a few suffixes every format shares (`.parse-error`,
`.too-large`, `.analysis-limit`) have one line for all. Contract: every rule id the scanner
can emit MUST resolve here in both languages — tests/scan/test_html_i18n.py enumerates them
from the analyzers' source and fails on a rule without a line.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

__all__ = ["REMEDIATIONS", "Remedy", "remediation"]


class Remedy(NamedTuple):
    ko: str
    en: str


_SAFETENSORS = Remedy(
    "모델을 safetensors로 변환해 배포하고, 신뢰하는 출처의 원본만 로드하십시오",
    "convert the model to safetensors and load only originals from a source you trust",
)
_PICKLE_CODE = Remedy(
    "로드하지 마십시오. 출처를 확인하고, 가중치만 safetensors로 변환해 받으십시오",
    "do not load it: check where it came from and get the weights as safetensors instead",
)
_SECRET = Remedy(
    "키를 즉시 폐기·재발급하고, 코드 대신 환경 변수나 비밀 저장소(수문 가상 키)에서 읽으십시오",
    "revoke and rotate the key now, and read it from the environment or a secret store "
    "(a Sumun virtual key) instead of the source",
)
_TRUST = Remedy(
    "trust_remote_code를 제거하거나, 저장소 코드를 검토한 뒤 revision을 커밋 해시로 고정하십시오",
    "remove trust_remote_code, or review the repository's code and pin revision= to a commit hash",
)
_TEMPLATE = Remedy(
    "채팅 템플릿을 검토해 원본 모델의 템플릿으로 바꾸고, 샌드박스된 Jinja로만 렌더링하십시오",
    "review the chat template, replace it with the original model's, and render it only in a "
    "sandboxed Jinja environment",
)
_RESCAN = Remedy(
    "파일이 손상되었거나 위장되었을 수 있습니다. 원본을 다시 받아 다시 검사하십시오",
    "the file may be damaged or disguised: fetch the original again and scan it again",
)
_LARGE = Remedy(
    "생성된 파일인지 확인하고, 아니라면 나누어 검사하십시오",
    "check whether it is generated; if not, split it and scan the parts",
)
_LIMIT = Remedy(
    "검사 한도를 넘어 일부만 확인했습니다. 직접 검토하거나 신뢰할 수 있는 형식으로 다시 받으십시오",
    "only part was inspected (a limit was reached): review it by hand or get it in a safe format",
)

REMEDIATIONS: Mapping[str, Remedy] = MappingProxyType(
    {
        # -- pickle and formats that embed it (CVE-2025-1716, JFrog/Trail of Bits write-ups) --
        "pickle.dangerous-global": _PICKLE_CODE,
        "pickle.nested-pickle": _PICKLE_CODE,
        "pickle.unknown-global": Remedy(
            "목록에 없는 클래스입니다. 코드를 검토해 신뢰하면 SUMUN_SCAN_PICKLE_ALLOW에 "
            "추가하고, 아니면 safetensors로 변환하십시오",
            "an unknown class: review its code and allow it with SUMUN_SCAN_PICKLE_ALLOW if you "
            "trust it, otherwise convert the model to safetensors",
        ),
        "pickle.dynamic-global": _PICKLE_CODE,
        "pickle.suspicious-call": _PICKLE_CODE,
        "pickle.indirect-call": _PICKLE_CODE,
        "pickle.build-on-global": _PICKLE_CODE,
        "pickle.setstate-injection": _PICKLE_CODE,
        "pickle.extension-code": _PICKLE_CODE,
        "pickle.joblib-ambiguous": Remedy(
            "joblib 파일을 직접 만든 것인지 확인하고, 가능하면 skops나 ONNX로 저장하십시오",
            "confirm you made this joblib file yourself; save models with skops or ONNX instead",
        ),
        "pickle.multiple-pickles": Remedy(
            "한 파일에 여러 pickle이 있습니다. 뒤쪽 스트림을 검토하고 safetensors로 변환하십시오",
            "several pickles in one file: review the later streams and convert to safetensors",
        ),
        "pickle.trailing-data": Remedy(
            "pickle 뒤에 숨은 데이터가 있습니다. 원본을 다시 받아 safetensors로 변환하십시오",
            "data hides after the pickle: fetch the original again and convert to safetensors",
        ),
        "pickle.config-error": Remedy(
            "SUMUN_SCAN_PICKLE_ALLOW 값을 고치십시오(모듈.이름 목록)",
            "fix the SUMUN_SCAN_PICKLE_ALLOW value (a list of module.name entries)",
        ),
        "numpy.object-array": Remedy(
            "객체 배열은 로드할 때 pickle을 실행합니다. 숫자 배열로 저장하고 "
            "allow_pickle=False로 로드하십시오",
            "object arrays run pickle when loaded: save numeric arrays and load with "
            "allow_pickle=False",
        ),
        "numpy.trailing-data": _RESCAN,
        # -- other model formats --
        "keras.lambda-layer": Remedy(
            "Lambda 레이어를 일반 레이어나 등록된 사용자 레이어로 바꾸고, safe_mode=True로 "
            "로드하십시오",
            "replace the Lambda layer with a built-in or registered custom layer, and load with "
            "safe_mode=True",
        ),
        "keras.dangerous-module": Remedy(
            "설정이 위험한 모듈을 불러옵니다. 로드하지 말고 출처를 확인하십시오",
            "the config imports a dangerous module: do not load it; check where it came from",
        ),
        "keras.custom-object": Remedy(
            "사용자 객체의 코드를 검토하고, 신뢰하는 패키지에서만 등록하십시오",
            "review the custom object's code and register it only from a package you trust",
        ),
        "keras.torch-module": Remedy(
            "TorchModuleWrapper 대신 가중치를 safetensors로 저장하십시오",
            "save the weights as safetensors instead of a TorchModuleWrapper",
        ),
        "keras.uninspected": _LIMIT,
        "tensorflow.dangerous-op": Remedy(
            "그래프가 파일·네트워크·파이썬에 접근합니다. 로드하거나 서빙하지 말고, 가중치만 "
            "safetensors로 받으십시오",
            "the graph reaches files, the network or Python: do not load or serve it; get the "
            "weights as safetensors instead",
        ),
        "tensorflow.unknown-op": Remedy(
            "검증되지 않은 연산자(사용자 연산 라이브러리)입니다. 출처를 확인하고 표준 연산자로 "
            "다시 내보내십시오",
            "an unvetted op (a custom-op library): check where it comes from and re-export "
            "with standard ops",
        ),
        "tensorflow.vocabulary-file": Remedy(
            "읽는 파일이 모델에 포함된 어휘 자산인지 확인하십시오",
            "confirm the file it reads is a vocabulary asset shipped with the model",
        ),
        "tensorflow.asset-escape": Remedy(
            "자산 경로를 모델 폴더 안의 상대 경로로 고치고, 그 전에는 로드하지 마십시오",
            "do not load it until asset paths are relative paths inside the model's folder",
        ),
        "onnx.external-data-escape": Remedy(
            "외부 데이터 경로를 모델 폴더 안의 상대 경로로 고치십시오",
            "make external-data locations relative paths inside the model's folder",
        ),
        "onnx.external-data-symlink": Remedy(
            "링크 대신 실제 데이터 파일을 모델 폴더에 두십시오(onnx 검사기도 링크를 거부합니다)",
            "put the real data file in the model's folder instead of a link (onnx's checker "
            "refuses links too)",
        ),
        "onnx.external-data-missing": Remedy(
            "빠진 외부 데이터 파일을 원본과 함께 다시 받으십시오",
            "fetch the missing external-data file again together with the model",
        ),
        "onnx.custom-op-domain": Remedy(
            "사용자 연산자 라이브러리의 출처를 확인하고, 필요 없으면 표준 연산자로 다시 "
            "내보내십시오",
            "check where the custom-op library comes from; re-export with standard operators "
            "if you can",
        ),
        "gguf.chat-template-injection": _TEMPLATE,
        "gguf.chat-template-oversized": _TEMPLATE,
        "gguf.invalid-layout": _RESCAN,
        "safetensors.invalid-layout": _RESCAN,
        "hf.remote-code": _TRUST,
        "hf.python-files": Remedy(
            "모델 폴더의 파이썬 파일을 검토하고, 필요 없으면 삭제하십시오",
            "review the Python files in the model folder and delete those you do not need",
        ),
        "hf.chat-template-injection": _TEMPLATE,
        "hf.chat-template-oversized": _TEMPLATE,
        # -- archives and the walk --
        "archive.path-traversal": Remedy(
            "압축을 풀지 마십시오. 폴더 밖을 가리키는 항목을 지운 뒤 다시 묶으십시오",
            "do not extract it: remove the members that point outside the folder and repack",
        ),
        "archive.bomb": Remedy(
            "압축 폭탄일 수 있습니다. 풀지 말고 출처를 확인하십시오",
            "a possible decompression bomb: do not extract it; check where it came from",
        ),
        "archive.limit": _LIMIT,
        "archive.encrypted": Remedy(
            "암호를 풀어 다시 검사하거나, 암호 없이 받으십시오",
            "decrypt it and scan again, or get it without encryption",
        ),
        "archive.unsupported": Remedy(
            "지원하는 압축(zip, tar, gzip, bzip2, xz)으로 다시 묶어 검사하십시오",
            "repack it with a supported compression (zip, tar, gzip, bzip2, xz) and scan again",
        ),
        "walk.unreadable": Remedy(
            "읽기 권한을 확인하고 다시 검사하십시오",
            "check the read permissions and scan again",
        ),
        "walk.symlink-outside-root": Remedy(
            "링크 대상도 검사하려면 그 경로를 함께 검사하십시오",
            "to cover the link's target, scan that path too",
        ),
        "walk.symlink-loop": Remedy(
            "순환하는 심볼릭 링크를 고치십시오", "fix the symbolic-link loop"
        ),
        "walk.not-regular": Remedy(
            "FIFO·소켓·장치 파일은 모델 폴더에서 치우십시오",
            "move FIFOs, sockets and devices out of the model folder",
        ),
        # -- the engine --
        "scan.analyzer-error": Remedy(
            "이 파일은 완전히 검사되지 않았습니다. 직접 검토하고 문제를 수문에 알려 주십시오",
            "this file was not fully analyzed: review it by hand and report the error to Sumun",
        ),
        "scan.no-analyzer": Remedy(
            "이 형식의 분석기가 포함된 수문으로 다시 검사하십시오",
            "scan again with a Sumun build that includes this format's analyzer",
        ),
        "scan.polyglot": Remedy(
            "여러 형식으로 읽히는 파일입니다. 로드하지 말고 원본을 다시 받으십시오",
            "a file valid as several formats: do not load it; fetch the original again",
        ),
        "scan.extension-mismatch": Remedy(
            "파일 이름을 실제 형식에 맞게 바꾸고, 의도한 파일인지 확인하십시오",
            "rename the file to its real format and confirm it is the file you meant",
        ),
        "scan.skipped": _LARGE,
        "scan.timeout": Remedy(
            "파일별 시간 한도를 넘었습니다. 검사기를 멈추게 만든 파일일 수 있으니 로드하지 말고 "
            "직접 검토하십시오",
            "the per-file time limit ran out: the file may be built to stall scanners; do not "
            "load it before reviewing it by hand",
        ),
        # -- code and configuration --
        "code.trust-remote-code": _TRUST,
        "config.trust-remote-code": _TRUST,
        "code.torch-load-unsafe": Remedy(
            "torch.load에 weights_only=True를 넘기거나 safetensors로 저장·로드하십시오",
            "pass weights_only=True to torch.load, or save and load with safetensors",
        ),
        "code.pickle-load": Remedy(
            "외부 입력은 pickle로 읽지 말고 safetensors나 JSON 같은 안전한 형식을 쓰십시오",
            "do not unpickle outside input: use a safe format such as safetensors or JSON",
        ),
        "code.unpinned-model": Remedy(
            "revision=을 커밋 해시로 고정하십시오", "pin the revision to a commit hash"
        ),
        "code.unknown-endpoint": Remedy(
            "이 엔드포인트의 운영자와 관할을 확인해 기록하거나, 수문 게이트웨이를 거치게 하십시오",
            "find out and record who runs this endpoint and where, or route it through the "
            "Sumun gateway",
        ),
        "code.hardcoded-secret": _SECRET,
        "config.hardcoded-secret": _SECRET,
        "python.large-file": _LARGE,
    }
)

_BY_SUFFIX: Mapping[str, Remedy] = MappingProxyType(
    {
        "parse-error": _RESCAN,
        "too-large": _LARGE,
        "analysis-limit": _LIMIT,
    }
)


def remediation(rule: str) -> Remedy | None:
    """The line for `rule`: its own, else the one its shared suffix has, else None."""
    found = REMEDIATIONS.get(rule)
    if found is not None:
        return found
    return _BY_SUFFIX.get(rule.rpartition(".")[2])
