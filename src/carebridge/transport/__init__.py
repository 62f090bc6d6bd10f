"""Transportation: ride requests for appointments."""
