"""Media handling: guarded fetching of caller URLs, image checks, and output storage."""
