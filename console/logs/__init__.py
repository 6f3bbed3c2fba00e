"""The console's logs part: the app log read back, its error-rate check, and the support bundle."""
