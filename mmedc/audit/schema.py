"""The audit table's fixed schema.

Scores are typed columns (null where a step does not set them) so that polars can filter and
aggregate millions of rows without parsing; anything else a step wants to keep goes into `detail`
(a JSON object). Steps score first and decide later (dolma's way): raw scores are kept for kept
documents too, so thresholds can be re-tuned from the audit alone.
"""
import pyarrow as pa

from mmedc.core.decisions import DECISIONS, DROPPED, FAILED, KEPT  # noqa: F401 - re-exported

AUDIT_SCHEMA = pa.schema(
    [
        ("shard", pa.string()),
        ("id", pa.string()),
        ("source", pa.string()),
        ("step", pa.string()),
        ("decision", pa.string()),
        ("reason", pa.string()),  # null when kept
        ("lang", pa.string()),
        ("lang_score", pa.float32()),
        ("medical", pa.bool_()),
        ("medical_score", pa.float32()),
        ("medical_hits", pa.int32()),
        ("medical_density", pa.float32()),
        ("chars", pa.int64()),
        ("cluster", pa.string()),  # dedup: id of the document kept for this cluster
        ("similarity", pa.float32()),
        ("n_tokens", pa.int32()),
        ("pii", pa.int32()),  # pii: replacements made in the document
        ("detail", pa.string()),  # JSON object with step-specific extras
    ]
)
SCORE_COLUMNS = [f.name for f in AUDIT_SCHEMA][6:-1]
# Steps whose rows are about a list a source names, not documents in the chain: one row per title of
# a book list (mmedc.sources.books; kept = found, dropped = missing, failed = unreadable). They are left
# out of the step order, conservation and document summaries, and reported as coverage.
LIST_STEPS = ("books",)
