"""paysync: per-tenant sync of payment and payroll provider data into SQL, run by Dagster."""
