"""M-Pesa status consistency: credentials and bars as assets, drift checks, the repair."""
