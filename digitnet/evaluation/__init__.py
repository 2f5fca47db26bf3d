"""Evaluating a model beyond accuracy: how far its confidence can be trusted."""
