"""HTTP plumbing shared by pages and the API: security headers, session cookies, the client's address."""
