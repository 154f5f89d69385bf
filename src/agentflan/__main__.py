"""``python -m agentflan ...``: the same as the ``agentflan`` command (for environments without its script)."""

from agentflan.cli import app

if __name__ == "__main__":
    app(prog_name="agentflan")
