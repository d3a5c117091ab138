"""roto-tui: the operator console, and roto_tui.client, the Python SDK it is built on."""
