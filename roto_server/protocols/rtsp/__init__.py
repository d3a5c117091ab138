"""RTSP 1.0 (RFC 2326) without I/O: a message codec and a session table, in the style of h11."""
