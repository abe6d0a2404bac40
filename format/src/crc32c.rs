//! CRC-32C (Castagnoli), the checksum of every superblock and tree node.
//!
//! Reflected polynomial `0x82F63B78`, initial value `!0`, final xor `!0`:
//! identical to the kernel's `crc32c(~0, buf, len) ^ ~0`.
//!
//! Built into the kernel module (`--cfg ferrofs_kernel`), the update step is the kernel's own
//! `crc32c()` (hardware accelerated where the CPU can), reached through the module's crate root;
//! the tools and host tests use the table below, which the tests check against known vectors.

const POLY: u32 = 0x82F6_3B78;

const fn make_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ POLY } else { crc >> 1 };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

static TABLE: [u32; 256] = make_table();

/// Raw CRC-32C update without initial or final inversion.
///
/// `crc32c(data) == !crc32c_update(!0, data)`.
#[cfg(ferrofs_kernel)]
pub fn crc32c_update(crc: u32, data: &[u8]) -> u32 {
    super::super::kernel_crc32c(crc, data)
}

/// Raw CRC-32C update without initial or final inversion.
///
/// `crc32c(data) == !crc32c_update(!0, data)`.
#[cfg(not(ferrofs_kernel))]
pub fn crc32c_update(mut crc: u32, data: &[u8]) -> u32 {
    for &b in data {
        let idx = ((crc ^ u32::from(b)) & 0xFF) as u8;
        crc = TABLE[usize::from(idx)] ^ (crc >> 8);
    }
    crc
}

/// Standard CRC-32C of `data` (`"123456789"` gives `0xE3069283`).
pub fn crc32c(data: &[u8]) -> u32 {
    !crc32c_update(!0, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_vector() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
        // RFC 3720 B.4: 32 bytes of zeros.
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(&[0xFFu8; 32]), 0x62A8_AB43);
    }

    #[test]
    fn incremental() {
        let a = crc32c_update(!0, b"1234");
        assert_eq!(!crc32c_update(a, b"56789"), 0xE306_9283);
    }
}
