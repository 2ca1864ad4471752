"""The embedded sample: texts written by the mmedc project, and the files built from them."""
