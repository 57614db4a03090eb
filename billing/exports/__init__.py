"""Invoice and ledger files: CSV (streamed), XLSX (written row by row to a temporary file) and PDF."""
