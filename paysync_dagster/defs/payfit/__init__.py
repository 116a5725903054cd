"""PayFit: collaborators and contracts as assets, their checks (mock mode included), the job."""
