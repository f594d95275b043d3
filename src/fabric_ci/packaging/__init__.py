"""The packaging each command is published in, generated from the command registry (`make generate`):
a GitHub action per command plus the root action (github.py), and an Azure DevOps task per command
(azure_devops.py). Each file written here is committed; a test fails when one differs from what the
generator writes now, so an input, default or output can never drift from the code."""
