"""Runner adapters: read raw inputs from the CI system, write outputs, annotations and a summary."""
