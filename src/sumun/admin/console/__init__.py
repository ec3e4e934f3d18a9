"""The web console: `/console/` on the admin listener, in Korean and English (docs/console.md).

    app.py        the ASGI app: every route, the static files, the security headers
    web.py        what every request goes through: session → caller → gate → CSRF → view
    sessions.py   server-side sessions in memory, keyed by a random id; idle timeout
    csrf.py       the synchronizer token every POST form carries
    forms.py      size-capped urlencoded forms
    i18n.py       every label in English and Korean; the language from cookie or browser
    actions.py    the admin API's operations, called in-process with the same authorization
    views/        one module per page: login, overview, providers, tenants, ledger
    templates/    jinja2, autoescaped        static/   CSS, the scripts, the icon

The console changes nothing by itself: every change is an admin API operation run as the
signed-in key, recorded in the ledger as the API records it.
"""

from sumun.admin.console.app import console_app

__all__ = ["console_app"]
