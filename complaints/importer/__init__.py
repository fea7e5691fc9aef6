"""Bulk import of earlier years' complaints from a CSV or XLSX file (`referral-service import complaints`).

`rows` reads the file and checks every row without touching the database (the columns, codes, dates and
what depends on several cells), `repository` holds the import's SQL, `service` runs it: every row is
validated first, and only a file without a single error is written, in one transaction, sealed under a
data key per complaint exactly like a complaint entered by hand. The columns and the rules are in
docs/complaints.md ("Importing earlier years").
"""
