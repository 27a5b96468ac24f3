"""Inference over user inputs: input enumeration, batched prediction, streamed dump writers."""
