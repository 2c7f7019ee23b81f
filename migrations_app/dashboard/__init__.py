"""The dashboard across practices (README.md): the RAG rule (rag), the
rows and their filters and sort (rows, forms), the summary panel (summary) and the CSV (export)."""
