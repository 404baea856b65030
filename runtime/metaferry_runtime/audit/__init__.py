"""Egeria-style audit log: every significant event is a record with a message id, a severity, the formatted
text, what the system did and what the user should do; emitted as one JSON line per record."""

from metaferry_runtime.audit.log import AuditLog, AuditRecord, SecretMasker
from metaferry_runtime.audit.messages import AuditMessage, RuntimeMessages, Severity

__all__ = ["AuditLog", "AuditMessage", "AuditRecord", "RuntimeMessages", "SecretMasker", "Severity"]
