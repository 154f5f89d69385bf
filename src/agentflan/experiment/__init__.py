"""`agentflan experiment`: the paper's ablations as one command. A grid of build variants × seeds, trained on
the same token budget from one starting model, evaluated on the same benchmarks (Agent-H decontaminated
against every build, BFCL, held-out calls and losses), reported side by side with the paper's numbers.

The top layer: it may import every other part of agentflan; nothing imports it.
"""
