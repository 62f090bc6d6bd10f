"""Community resources: a directory imported from Open Referral HSDS, search, and community
referrals."""
