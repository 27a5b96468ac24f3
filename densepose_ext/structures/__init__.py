"""Data structures exchanged between the mapper, the model, the evaluator and the CLIs."""
