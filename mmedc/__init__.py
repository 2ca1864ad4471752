"""mmedc: a Ray-distributed pipeline that builds the MMedC multilingual medical corpus."""

__version__ = "0.1.0"
