"""Albums: the ones people make (decisions), the ones Takeout and folders bring, and export."""
