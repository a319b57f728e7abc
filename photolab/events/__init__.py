"""Events and memories: photos grouped by when and where they were taken, titles, covers,
"on this day"."""
