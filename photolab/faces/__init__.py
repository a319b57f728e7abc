"""Faces: detection and encodings (dlib), file regions, clustering, labels, evaluation."""
