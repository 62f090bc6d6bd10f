"""Transitions of care: the HL7 v2 ADT feed, hospital encounters, post-discharge follow-up
and readmission risk."""
