"""Labels for signing in with OpenID Connect, and for the sign-in throttle: key → (English,
Korean)."""

MESSAGES: dict[str, tuple[str, str]] = {
    "oidc.button": ("Sign in with {name}", "{name} 계정으로 로그인"),
    "oidc.help": (
        "With your organisation's account. Your role in the console comes from that account.",
        "소속 기관 계정으로 로그인합니다. 콘솔에서의 역할은 계정 정보에 따라 정해집니다.",
    ),
    "oidc.or": ("or with an API key", "또는 API 키로 로그인"),
    "oidc.signed_in_as": (
        "{name} · {role} · tenant {tenant}",
        "{name} · {role} · 테넌트 {tenant}",
    ),
    "oidc.welcome_title": ("Signed in", "로그인했습니다"),
    "oidc.welcome": (
        "Signed in as {name}. Opening the console…",
        "{name} 님으로 로그인했습니다. 콘솔로 이동합니다…",
    ),
    "oidc.continue": ("Open the console", "콘솔 열기"),
    "oidc.not_configured": (
        "Sign-in with OpenID Connect is not set up on this console.",
        "이 콘솔에는 OpenID Connect 로그인이 설정되어 있지 않습니다.",
    ),
    "oidc.no_login": (
        "This sign-in was not started in this browser, took longer than 10 minutes, or was "
        "already used. Nothing was signed in; start again.",
        "이 브라우저에서 시작한 로그인이 아니거나, 10분이 지났거나, 이미 사용된 로그인 "
        "응답입니다. 로그인되지 않았으니 처음부터 다시 시도하세요.",
    ),
    "oidc.bad_state": (
        "The provider's answer does not belong to this sign-in (state). Nothing was signed in.",
        "인증 제공자의 응답이 이 로그인 요청과 맞지 않습니다(state 불일치). 로그인되지 않았습니다.",
    ),
    "oidc.provider_refused": (
        "The provider did not sign you in ({error}). Nothing was signed in.",
        "인증 제공자가 로그인을 거부했습니다({error}). 로그인되지 않았습니다.",
    ),
    "oidc.no_role": (
        "Your {name} account has no role in this console. Ask an administrator to give it "
        "the admin or auditor role.",
        "{name} 계정에 이 콘솔의 역할이 없습니다. 관리자에게 관리자 또는 감사자 역할을 요청하세요.",
    ),
    "oidc.tenant": (
        "Your {name} account names no valid tenant. Nothing was signed in.",
        "{name} 계정에 올바른 테넌트 정보가 없습니다. 로그인되지 않았습니다.",
    ),
    "oidc.failed": (
        "Sign-in with {name} failed, and nothing was signed in: {detail}",
        "{name} 계정 로그인에 실패하여 로그인되지 않았습니다. 원인: {detail}",
    ),
    "oidc.too_many": (
        "Too many failed sign-ins from here. Try again in {seconds} seconds.",
        "로그인 실패가 너무 많습니다. {seconds}초 후에 다시 시도하세요.",
    ),
}
