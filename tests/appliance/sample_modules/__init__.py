"""Modules for the loader tests: good ones (alpha, beta needs alpha) and broken ones, each in its own folder."""
