"""The extract layer: find the newest complete EDC export and read its raw form files."""
