"""Sans-IO protocol engines: bytes in, decisions out; no sockets, no asyncio, ``now`` passed in."""
