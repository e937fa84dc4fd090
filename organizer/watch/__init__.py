"""The page watch: fetch the student pages as students' phones do and compare them, byte for byte,
with what this release serves for the same public campaign data (docs/page-watch.md)."""
