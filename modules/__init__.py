"""Feature modules. Each folder has the same shape (see ../shared/STYLE.md) and declares `MODULE = ModuleSpec(...)`."""
