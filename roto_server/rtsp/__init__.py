"""The asyncio side of RTSP: sockets, timers and pacing around the sans-IO engine in roto_server.protocols."""
