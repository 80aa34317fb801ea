"""Backprop Lab: computation graphs with their forward values and gradients."""

__version__ = "0.1.0"
