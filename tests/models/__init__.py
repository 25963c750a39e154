"""Tests of the models and their schema migrations."""
