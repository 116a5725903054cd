"""PayFit: partner API client (httpx), mock-mode detection and mapping to canonical rows."""
