"""Rendering engines for the office's figures: XLSX workbook, PNG charts, annual .docx."""
