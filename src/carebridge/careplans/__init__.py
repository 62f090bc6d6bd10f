"""Care teams, barriers to care, and care plans with their problems, goals and activities."""
