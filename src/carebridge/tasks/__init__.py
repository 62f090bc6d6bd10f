"""Tasks: everything a person must act on, and the worklist built from them."""
