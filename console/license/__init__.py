"""The console's license part: activation codes, the seat limit and the license's health checks."""
