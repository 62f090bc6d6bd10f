"""Insurance coverage: payers, plans, eligibility, prior authorization and claims."""
