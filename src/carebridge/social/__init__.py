"""Social needs screening (AHC HRSN and room for others), needs and rescreening."""
