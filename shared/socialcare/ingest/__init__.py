"""Ingest: parsed deliveries become stored mentions, each once, in its conversation; missing texts are
fetched."""
