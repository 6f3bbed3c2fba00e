"""The console's health part: the health checks, their alerts, the sampled history and the dashboard."""
