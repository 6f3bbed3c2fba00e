"""The NiceGUI user interface: one frame, page guards, and the core pages."""
