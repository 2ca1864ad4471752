"""What every stage shares: decisions, records, the step and reader contracts with their registries,
crash-safe writes and the run-folder layout. This package imports nothing else from mmedc, so stage
packages depend on it and never on each other through the engine."""
