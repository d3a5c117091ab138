"""ONVIF Profile S over the one state store: one handler module per service, sans-IO."""
