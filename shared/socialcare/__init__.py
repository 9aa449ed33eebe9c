"""Social Care domain code, shipped to every function as a Lambda layer.

A mention flows: platforms/<name>.py (verify, parse) -> ingest.py (store once) -> data/ (DynamoDB)."""
