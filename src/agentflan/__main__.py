"""``python -m agentflan ...``: the same as the ``agentflan`` command (for environments without its script)."""

from agentflan.cli import main

if __name__ == "__main__":
    main()
