"""SOAP 1.2 envelopes and WS-Security UsernameToken, as ONVIF uses them."""
