"""Egeria-style audit log: every significant event is a record with a message id, a severity, the formatted
text, what the system did and what the user should do; emitted as one JSON line per record."""

from metaferry_runtime.audit.log import AuditLog, AuditRecord
from metaferry_runtime.audit.masking import MASK, MIN_SECRET_LENGTH, SecretMasker, SecretTooShort, check_secret_length
from metaferry_runtime.audit.messages import AuditMessage, RuntimeMessages, Severity

__all__ = [
    "MASK",
    "MIN_SECRET_LENGTH",
    "AuditLog",
    "AuditMessage",
    "AuditRecord",
    "RuntimeMessages",
    "SecretMasker",
    "SecretTooShort",
    "Severity",
    "check_secret_length",
]
