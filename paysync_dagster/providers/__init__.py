"""Provider API clients and the mapping of provider objects to canonical rows."""
