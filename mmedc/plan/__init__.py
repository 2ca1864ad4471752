"""`mmedc plan`: a recipe's documents, core-hours, wall time and disk per source and step, before it
runs (count.py counts the input cheaply, rates.py/rates.toml hold per-core rates, estimate.py multiplies)."""
