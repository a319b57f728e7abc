"""Curation: keywords, ratings, titles, favourites as decisions, and write-back to XMP."""
