"""Users, roles, sessions, API tokens, access policy and the audit log."""
