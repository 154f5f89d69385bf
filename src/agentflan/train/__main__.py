"""``python -m agentflan.train CONFIG [--set k=v ...]``: the same as ``agentflan train``, in a form
``accelerate launch -m agentflan.train ...`` can start on every process."""

from agentflan.cli import app

if __name__ == "__main__":
    app(args=["train", *__import__("sys").argv[1:]], prog_name="agentflan")
