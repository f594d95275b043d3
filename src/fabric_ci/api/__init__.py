"""The HTTP side: transport (TLS, auth, retries, error mapping), pagination, polling, the Fabric client."""
