"""WS-Discovery (2005/04, as ONVIF uses it): the datagram codec and the decisions of a target service."""
