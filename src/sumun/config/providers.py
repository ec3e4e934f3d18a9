"""Upstream providers, their declared terms and the routes over them: `providers`, `routes`
(docs/providers.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from sumun.config._base import _Strict


class ProfileConfig(_Strict):
    """A provider's declared terms (see sumun.policy.profiles). Unknown fields stay None."""

    jurisdiction: str = "unknown"
    hosting: Literal["on-prem", "kr-region", "abroad"] | None = None
    key_custody: Literal["organization", "byok", "provider"] | None = None
    retention_days: int | None = Field(default=None, ge=0)
    training_use: bool | None = None
    certifications: tuple[str, ...] = ()
    cross_border_basis: str | None = None
    # AI Basic Act art. 36: the representative's name and contact, or "below-threshold".
    domestic_representative: str | None = Field(default=None, min_length=1, max_length=500)


# The built-in demo provider runs inside Sumun: on-prem, organization-held keys, nothing kept.
_DEMO_PROFILE = ProfileConfig(
    jurisdiction="KR",
    hosting="on-prem",
    key_custody="organization",
    retention_days=0,
    training_use=False,
)


class ProviderConfig(_Strict):
    """An upstream model provider. Secrets (API keys) come from `api_key_env` or a file of their
    own (`api_key_file`, re-read when it changes), never from this file."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")
    kind: Literal["openai", "azure", "anthropic", "demo", "gemini", "vertex", "clova", "bedrock"]
    base_url: str | None = None  # e.g. http://127.0.0.1:8000/v1 (vLLM), https://…/openai (Azure)
    api_key_env: str | None = None
    # A file holding the key or token (chmod 600; relative to the config file's folder),
    # re-read when it changes: for short-lived tokens renewed while Sumun runs.
    api_key_file: Path | None = None
    api_version: str | None = None  # Azure OpenAI `api-version`
    project: str | None = None  # Vertex AI: the Google Cloud project id
    location: str | None = None  # Vertex AI: the region, e.g. asia-northeast3 (Seoul)
    region: str | None = None  # Amazon Bedrock: the AWS region, e.g. ap-northeast-2 (Seoul)
    # Amazon Bedrock: the variables holding the AWS credentials (default: the AWS_* standard ones)
    aws_access_key_id_env: str | None = None
    aws_secret_access_key_env: str | None = None
    aws_session_token_env: str | None = None
    # Amazon Bedrock: or an AWS shared credentials file (INI; the `aws_profile` section, default
    # `default`), re-read when it changes: for STS temporary credentials a sidecar renews.
    aws_credentials_file: Path | None = None
    aws_profile: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,64}$")
    timeout_seconds: float = Field(default=60.0, gt=0)
    connect_timeout_seconds: float = Field(default=5.0, gt=0)
    # Declared terms; None = unknown = admitted for open (O) data only.
    profile: ProfileConfig | None = None

    def effective_profile(self) -> ProfileConfig | None:
        return _DEMO_PROFILE if self.kind == "demo" and self.profile is None else self.profile

    @model_validator(mode="after")
    def _vertex_names_its_project(self) -> ProviderConfig:
        if self.kind == "vertex" and not (self.project and self.location):
            raise ValueError("a vertex provider needs project and location")
        return self

    @model_validator(mode="after")
    def _bedrock_names_its_region(self) -> ProviderConfig:
        if self.kind == "bedrock" and not self.region:
            raise ValueError("a bedrock provider needs region (e.g. region: ap-northeast-2)")
        if self.kind == "bedrock" and (self.api_key_env or self.api_key_file):
            raise ValueError(
                "a bedrock provider signs with AWS credentials (aws_*_env or "
                "aws_credentials_file), not an API key"
            )
        return self

    @model_validator(mode="after")
    def _one_source_per_secret(self) -> ProviderConfig:
        if self.api_key_env and self.api_key_file:
            raise ValueError("api_key_env and api_key_file are exclusive: name one")
        aws_env = (
            self.aws_access_key_id_env,
            self.aws_secret_access_key_env,
            self.aws_session_token_env,
        )
        if self.aws_credentials_file and any(aws_env):
            raise ValueError("aws_credentials_file and the aws_*_env settings are exclusive")
        if self.kind != "bedrock" and (self.aws_credentials_file or self.aws_profile):
            raise ValueError("aws_credentials_file and aws_profile are for bedrock providers")
        if self.aws_profile and not self.aws_credentials_file:
            raise ValueError("aws_profile names a section of aws_credentials_file: set that too")
        return self


_PROVIDER_FILES = ("api_key_file", "aws_credentials_file")


def _provider_beside(provider: Any, folder: Path) -> Any:
    """A provider (as given to Settings) with its relative secret files taken from `folder`."""
    if isinstance(provider, ProviderConfig):
        update = {
            key: folder / value
            for key in _PROVIDER_FILES
            if isinstance(value := getattr(provider, key), Path) and not value.is_absolute()
        }
        return provider.model_copy(update=update) if update else provider
    if isinstance(provider, dict):
        provider = dict(provider)
        for key in _PROVIDER_FILES:
            value = provider.get(key)
            if isinstance(value, str | Path) and str(value) and not Path(value).is_absolute():
                provider[key] = str(folder / value)
    return provider


class RouteTarget(_Strict):
    provider: str
    model: str  # the model name the provider knows (Azure: the deployment name)
    weight: int = Field(default=1, ge=1)


class RouteConfig(_Strict):
    """A model alias clients ask for, served by one or more providers."""

    model: str
    targets: tuple[RouteTarget, ...] = Field(min_length=1)
    strategy: Literal["fallback", "weighted"] = "fallback"


_DEMO_PROVIDERS = (ProviderConfig(name="demo", kind="demo"),)
_DEMO_ROUTES = (
    RouteConfig(model="demo", targets=(RouteTarget(provider="demo", model="sumun-demo-1"),)),
)
