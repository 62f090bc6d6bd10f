"""Claims (837P) and their status, billing inquiries, estimates and payment plans."""
