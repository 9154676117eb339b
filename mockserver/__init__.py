"""mockserver: a mock of the Polymarket US WebSocket API for offline, deterministic tests."""
