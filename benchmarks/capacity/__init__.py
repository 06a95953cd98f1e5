"""`interstore bench capacity`: bytes per live user and per feature entity in Redis, bytes per
cold row on disk: the measured inputs of the capacity section of docs/DESIGN.md."""
