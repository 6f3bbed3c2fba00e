"""Pieces of the Backups page: the target dialogs, the restore dialog and the words they share."""
