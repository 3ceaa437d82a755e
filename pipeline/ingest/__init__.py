"""Ingest: what a user names (URL, search, channel, file), whether it may be fetched, and fetching it."""
