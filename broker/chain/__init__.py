"""The chain side: what runs at head office over every store's records (ingest, reports, the chain board)."""
