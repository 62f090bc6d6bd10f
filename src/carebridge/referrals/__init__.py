"""Referrals to and from outside providers, with loop closure, and the provider directory."""
