"""A folder that forgot to declare MODULE."""

LABEL = 'No spec'
