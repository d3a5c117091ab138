"""Sans-IO protocol engines: bytes in, values out, no sockets, no asyncio, the time passed in."""
