//! Browser tests of `cli serve` live in `tests/`; this library is empty.
