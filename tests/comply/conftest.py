"""A real deployment per test: keys initialised and unsealed, a ledger in tmp_path, store.db
with a tenant, an app and a key — the state the collectors read, built for real.

`Deployment.assess()` gathers the facts exactly as `sumun comply report` does and returns the
assessments by requirement id (and app, for per-app requirements).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from sumun import config
from sumun.comply.assess import assess
from sumun.comply.catalog import Catalog, load_catalog
from sumun.comply.facts import Facts
from sumun.comply.gather import gather
from sumun.comply.model import Assessment, Evidence
from sumun.comply.register import Determination, Register, Registration
from sumun.comply.report import Report, build_report
from sumun.ledger.entry import EntryKind, EntryMeta
from sumun.runtime import Runtime, open_runtime
from sumun.store.directory import Directory
from sumun.store.model import Role

TENANT = "acme"
APP = "loans"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@dataclass
class Deployment:
    home: Path
    settings: config.Settings
    runtime: Runtime
    shares: tuple[str, ...]
    catalog: Catalog
    api_keys: dict[str, str] = field(default_factory=dict)

    def directory(self) -> Directory:
        return Directory(self.home / "store.db")

    def facts(self, **kwargs: Any) -> Facts:
        return gather(
            self.settings,
            key_status=self.runtime.keys.status().to_json(),
            key_origin="the test's KeyService",
            **kwargs,
        )

    def assess(self, **kwargs: Any) -> dict[str, Assessment]:
        found = assess(self.catalog, self.facts(**kwargs))
        return {a.requirement.id + (f"@{a.subject}" if a.subject else ""): a for a in found}

    def report(self, **kwargs: Any) -> Report:
        facts = self.facts(**kwargs)
        return build_report(self.catalog, facts, assess(self.catalog, facts))

    def evidence(self, requirement: str, collector: str, **kwargs: Any) -> Evidence:
        item = self.assess(**kwargs)[requirement]
        return next(e for e in item.evidence if e.collector == collector)

    def call(self, app: str = APP, data_class: str = "O", tenant: str = TENANT) -> int:
        """A model call as the gateway records it: a request-admitted entry, payload sealed."""
        meta = EntryMeta(
            kind=EntryKind.REQUEST_ADMITTED,
            tenant=tenant,
            time_ms=int(time.time() * 1000),
            decision="allow",
            rules=("admit.tenant",),
            data_class=data_class,
            request_id=uuid.uuid4().hex,
            attrs={"app": app, "key_id": "k", "model": "demo", "user": "u", "pii_types": ""},
        )
        return self.runtime.ledger.append(meta, b'{"messages": []}', key_id=tenant).wait()

    def register(
        self,
        app: str = APP,
        *,
        high_impact: bool,
        sector: str = "other",
        oversight: str | None = "Kim Auditor <kim@acme.kr>",
    ) -> Registration:
        now = time.time()
        return Register(self.home).put(
            Registration(
                tenant=TENANT,
                app=app,
                purpose="loan screening assistant",
                sector=sector,  # type: ignore[arg-type]
                determination=Determination(
                    high_impact=high_impact, method="declared", reason="declared in a test"
                ),
                models=("demo",),
                oversight=oversight,
                registered_at=now,
                updated_at=now,
                registered_by="test",
            )
        )

    def auditor_key(self) -> str:
        with self.directory() as directory:
            _key, secret = directory.issue_key(TENANT, user="kim", role=Role.AUDITOR)
        return secret


def _settings(home: Path, sumun_yaml: dict[str, Any] | None) -> config.Settings:
    env: dict[str, str] = {}
    if sumun_yaml is not None:
        home.mkdir(parents=True, exist_ok=True)
        (home / "sumun.yaml").write_text(yaml.safe_dump(sumun_yaml), encoding="utf-8")
    return config.load(home=home, env=env)


@pytest.fixture
def deploy(tmp_path: Path, catalog: Catalog) -> Iterator[Callable[..., Deployment]]:
    made: list[Deployment] = []

    def build(sumun_yaml: dict[str, Any] | None = None, **tenant: Any) -> Deployment:
        home = tmp_path / f"home{len(made)}"
        settings = _settings(home, sumun_yaml)
        runtime = open_runtime(settings)
        result = runtime.keys.initialise(custodians=5, threshold=3, actor="test")
        runtime.keys.unseal_with(result.master_key, actor="test")
        runtime.keys.lifecycle.create(TENANT, actor="test", tenant=TENANT)
        with Directory(home / "store.db") as directory:
            directory.create_tenant(TENANT, **({"ai_notice": True} | tenant))
            directory.create_app(TENANT, APP)
            directory.issue_key(TENANT, app=APP, user="clerk")
        d = Deployment(home, settings, runtime, result.shares, catalog)
        made.append(d)
        return d

    yield build
    for d in made:
        d.runtime.close()
