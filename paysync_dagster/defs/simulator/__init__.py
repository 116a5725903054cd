"""The payment simulator in Dagster: `simulator/payments` per target, its checks, the manual
job and the jittered loop sensor."""
