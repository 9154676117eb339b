"""pytest plugin of mockserver (fixtures arrive with the server)."""
