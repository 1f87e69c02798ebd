"""aupguard: acceptable-use-policy enforcement for generative-AI platforms."""

__version__ = "0.1.0"
