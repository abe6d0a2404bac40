//! Host tests support.
