"""Evaluation in three layers: distances (chunked, any device) -> metrics (pure functions of a
distance matrix and labels) -> protocols (probe / gallery, exclusions, averaging), plus the
embeddings file, extraction from a model and the results JSON."""
