"""Audit trail: one row per document per step that can drop or change it."""
from mmedc.audit.schema import AUDIT_SCHEMA, KEPT, DROPPED, FAILED
from mmedc.audit.writer import AuditLog

__all__ = ["AUDIT_SCHEMA", "KEPT", "DROPPED", "FAILED", "AuditLog"]
