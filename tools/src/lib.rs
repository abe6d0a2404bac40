//! ferrofs userspace tools library.
