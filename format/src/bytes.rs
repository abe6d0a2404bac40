//! Little-endian field access on byte slices that never panics.
//!
//! Readers return `None` when the field does not fit in the slice; callers
//! turn that into a [`FsError`](super::error::FsError) naming the block.

/// Reads a `u8` at `off`.
pub fn get_u8(b: &[u8], off: usize) -> Option<u8> {
    b.get(off).copied()
}

/// Reads a little-endian `u16` at `off`.
pub fn get_u16(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_le_bytes(s.try_into().ok()?))
}

/// Reads a little-endian `u32` at `off`.
pub fn get_u32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes(s.try_into().ok()?))
}

/// Reads a little-endian `u64` at `off`.
pub fn get_u64(b: &[u8], off: usize) -> Option<u64> {
    let s = b.get(off..off.checked_add(8)?)?;
    Some(u64::from_le_bytes(s.try_into().ok()?))
}

/// Reads a little-endian `i64` at `off`.
pub fn get_i64(b: &[u8], off: usize) -> Option<i64> {
    let s = b.get(off..off.checked_add(8)?)?;
    Some(i64::from_le_bytes(s.try_into().ok()?))
}

/// Writes `v` at `off`; returns `None` if it does not fit.
pub fn put_u8(b: &mut [u8], off: usize, v: u8) -> Option<()> {
    *b.get_mut(off)? = v;
    Some(())
}

/// Writes little-endian `v` at `off`; returns `None` if it does not fit.
pub fn put_u16(b: &mut [u8], off: usize, v: u16) -> Option<()> {
    put_bytes(b, off, &v.to_le_bytes())
}

/// Writes little-endian `v` at `off`; returns `None` if it does not fit.
pub fn put_u32(b: &mut [u8], off: usize, v: u32) -> Option<()> {
    put_bytes(b, off, &v.to_le_bytes())
}

/// Writes little-endian `v` at `off`; returns `None` if it does not fit.
pub fn put_u64(b: &mut [u8], off: usize, v: u64) -> Option<()> {
    put_bytes(b, off, &v.to_le_bytes())
}

/// Writes little-endian `v` at `off`; returns `None` if it does not fit.
pub fn put_i64(b: &mut [u8], off: usize, v: i64) -> Option<()> {
    put_bytes(b, off, &v.to_le_bytes())
}

/// Copies `src` to `off`; returns `None` if it does not fit.
pub fn put_bytes(b: &mut [u8], off: usize, src: &[u8]) -> Option<()> {
    let end = off.checked_add(src.len())?;
    b.get_mut(off..end)?.copy_from_slice(src);
    Some(())
}
