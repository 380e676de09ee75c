"""Project tools: the demo, the reproduction tables, the oracle association evaluation."""
