"""The console's certificate part: the HTTPS certificate nginx serves, and asking for another."""
