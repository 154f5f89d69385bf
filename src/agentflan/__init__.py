"""agentflan: data-centric agent tuning for LLMs (an open implementation of Agent-FLAN, arXiv 2403.12881)."""

__version__ = "0.1.0"
