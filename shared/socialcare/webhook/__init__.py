"""Receiving: a platform's HTTP request, verified over its raw bytes and parsed by the platform's adapter."""
