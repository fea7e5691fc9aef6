"""Bulk import of earlier years' referrals from a CSV or XLSX file (`referral-service import referrals`).

`rows` checks every row without touching the database, `repository` holds the import's SQL, `service`
runs it: every row is validated first, and only a file without a single error is written, in one
transaction, sealed under a data key per referral exactly like a referral entered by hand. Reading the
file, the report, the import id and the command's run are the kernel's (`referral_service.importing`).
The columns and rules are in docs/referrals.md ("Importing earlier years").
"""
