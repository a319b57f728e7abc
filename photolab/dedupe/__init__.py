"""Duplicates: perceptual and pixel hashes (a stage), Hamming search, groups, evaluation."""
