"""One module per command. Operations never read the environment and never print:
they take validated inputs, a client and a Reporter, and return a result model."""
