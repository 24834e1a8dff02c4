-- Version 5 is reserved for another schema change; this file keeps the
-- numbering contiguous and changes nothing.
SELECT 1;
