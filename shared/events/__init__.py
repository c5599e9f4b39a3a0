"""The event contract: CloudEvents envelope, typed payloads and closed vocabularies."""
