"""One loader per MultiMedQA source file format; each returns typed records or raises DataError."""
