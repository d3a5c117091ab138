"""The console's screens; each refreshes from the client's state mirror when shown."""
