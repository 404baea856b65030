"""The operator's settings: one pydantic model, read from ``METAFERRY_*`` variables and ``run`` flags.

The Helm chart sets the environment variables; a flag of ``metaferry-operator run`` with the same name
(``METAFERRY_STATUS_POLL_INTERVAL`` -> ``--status-poll-interval``) overrides its variable, which is handy
when running the operator by hand against a development cluster.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

ENV_PREFIX = "METAFERRY_"
DEFAULT_OPERATOR_POD_LABELS = "app.kubernetes.io/name=metaferry,app.kubernetes.io/component=operator"


def parse_labels(text: str) -> dict[str, str]:
    """Parse ``k=v,k=v`` (blank entries ignored); raise ValueError naming the bad entry."""
    labels: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{item!r} is not a label: write key=value, separated by commas")
        labels[key.strip()] = value.strip()
    return labels


class OperatorConfig(BaseModel):
    """Every setting, with the default a user gets when the chart leaves it out."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    watch_namespaces: tuple[str, ...] = Field(default=(), description="Namespaces to watch; empty = all.")
    operator_namespace: str = Field(default="", description="Where the operator runs (downward API).")
    pod_name: str = Field(default="", description="This replica's pod (downward API); names it in the Lease.")
    runtime_image: str = Field(default="ghcr.io/metaferry/metaferry:0.1.0", min_length=1)
    runtime_image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"
    repository_url: str = Field(default="", repr=False, description="Shared repository URL; empty = per-pod SQLite.")
    status_poll_interval: float = Field(default=10.0, gt=0)
    http_timeout: float = Field(default=5.0, gt=0)
    max_workers: int = Field(default=20, ge=1)
    leader_election: bool = Field(default=False, description="Act only while holding a Lease (several replicas).")
    leader_election_lease: str = Field(default="metaferry-operator", min_length=1, description="The Lease's name.")
    leader_election_namespace: str = Field(default="", description="The Lease's namespace; empty = the operator's.")
    lease_duration: float = Field(default=15.0, gt=0, description="Seconds a standby waits for a silent leader.")
    lease_renew_deadline: float = Field(default=10.0, gt=0, description="Seconds the leader may fail to renew.")
    lease_retry_period: float = Field(default=2.0, gt=0, description="Seconds between Lease reads or renewals.")
    listen_host: str = "0.0.0.0"
    health_port: int = Field(default=8081, ge=0, le=65535)
    metrics_port: int = Field(default=9090, ge=0, le=65535)
    operator_pod_labels: dict[str, str] = Field(default_factory=lambda: parse_labels(DEFAULT_OPERATOR_POD_LABELS))
    log_format: Literal["json", "text"] = "text"

    @model_validator(mode="after")
    def _check_leader_election(self) -> OperatorConfig:
        if not self.leader_election:
            return self
        if not (self.leader_election_namespace or self.operator_namespace):
            raise ValueError(
                "leader election needs METAFERRY_OPERATOR_NAMESPACE or METAFERRY_LEADER_ELECTION_NAMESPACE"
            )
        if not self.lease_retry_period < self.lease_renew_deadline < self.lease_duration:
            raise ValueError(
                "leader election needs METAFERRY_LEASE_RETRY_PERIOD < METAFERRY_LEASE_RENEW_DEADLINE < "
                "METAFERRY_LEASE_DURATION, so a leader gives up before a standby may take over"
            )
        return self

    @field_validator("watch_namespaces", mode="before")
    @classmethod
    def _split_namespaces(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("operator_pod_labels", mode="before")
    @classmethod
    def _split_labels(cls, value: object) -> object:
        return parse_labels(value) if isinstance(value, str) else value


def _flag(field: str) -> str:
    return "--" + field.replace("_", "-")


def add_flags(parser: argparse.ArgumentParser) -> None:
    """One ``--flag`` per setting; absent flags fall back to the environment, then to the default."""
    for field, info in OperatorConfig.model_fields.items():
        parser.add_argument(
            _flag(field),
            dest=field,
            default=None,
            metavar=ENV_PREFIX + field.upper(),
            help=info.description or f"overrides {ENV_PREFIX}{field.upper()}",
        )


class ConfigError(Exception):
    """A setting has a value the operator cannot use; the message names the variable."""


def load_config(*, environ: Mapping[str, str], flags: argparse.Namespace | None = None) -> OperatorConfig:
    """Merge defaults, ``METAFERRY_*`` variables and flags, in that order of precedence (lowest first)."""
    values: dict[str, object] = {}
    for field in OperatorConfig.model_fields:
        env_value = environ.get(ENV_PREFIX + field.upper())
        if env_value is not None and (env_value != "" or field in ("repository_url", "watch_namespaces")):
            values[field] = env_value
        flag_value = getattr(flags, field, None) if flags is not None else None
        if flag_value is not None:
            values[field] = flag_value
    try:
        return OperatorConfig.model_validate(values)
    except ValidationError as error:
        problems = [_problem(item["loc"], item["msg"]) for item in error.errors()]
        raise ConfigError("invalid operator settings:\n  " + "\n  ".join(problems)) from None


def _problem(location: tuple[int | str, ...], message: str) -> str:
    """``METAFERRY_FIELD: message`` for one setting; the bare message for a rule across settings."""
    message = message.removeprefix("Value error, ")
    return f"{ENV_PREFIX}{str(location[0]).upper()}: {message}" if location else message


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Only for tests and ad-hoc use: the flags alone, without the ``run`` subcommand."""
    parser = argparse.ArgumentParser()
    add_flags(parser)
    return parser.parse_args(list(argv))
