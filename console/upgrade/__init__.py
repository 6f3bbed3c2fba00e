"""The console's upgrade part: checking a signed upgrade bundle before anything changes (issue 15)."""
