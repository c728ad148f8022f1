"""What the GDPR asks of us: erasure of every version (:mod:`.erasure`), the export of a
user's files (:mod:`.export`) and per-user usage (:mod:`.usage`)."""
