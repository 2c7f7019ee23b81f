"""The dashboard across practices for delivery partners, ICBs and staff: the RAG rule (rag), the
rows and their filters and sort (rows, forms), the summary panel (summary) and the CSV (export)."""
