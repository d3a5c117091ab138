"""WebRTC viewers of the shared H.264 stream (aiortc): peer connections, the bus-fed track, ICE servers."""
