"""Prior authorization: requests to payers (X12 278 or Da Vinci PAS), decisions, appeals, units."""
