"""The three decisions a step or reader can make about a document."""
KEPT, DROPPED, FAILED = "kept", "dropped", "failed"
DECISIONS = (KEPT, DROPPED, FAILED)
