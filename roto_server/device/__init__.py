"""The device itself: state store, rules, hardware model, persistence. No web framework here."""
