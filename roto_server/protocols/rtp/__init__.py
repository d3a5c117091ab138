"""RTP and RTCP value types and payload formats (RFC 3550, RFC 6184), each with parse() and serialize()."""
