"""Retention and erasure: crypto-shredding of cases past their retention period, and of
single cases on a data subject's request. Each domain says which of its cases are due and what a case
holds (`RetentionProvider`); this package runs the erasure, audits it and takes leadership."""
