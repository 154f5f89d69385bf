"""The Agent-FLAN construction method (`agentflan build`): the recipe (`recipe`), its stages over one state
(`stages`, run top to bottom by `build`), and the steps they apply (align, instruct, negatives, mix, decompose,
masking). Imports nothing on import."""
