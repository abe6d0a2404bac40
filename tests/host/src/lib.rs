//! Shared helpers for the ferrofs host tests: a tiny deterministic PRNG and
//! in-memory filesystem images.

use ferrofs_format::items::Timespec;
use ferrofs_format::key::Key;
use ferrofs_format::tree;
use ferrofs_tools::dev::MemDev;
use ferrofs_tools::fs::{FormatOptions, Fs};
use ferrofs_tools::fsck::{self, Options, Report};

/// SplitMix64: small, fast, deterministic.
#[derive(Clone, Debug)]
pub struct Rng(pub u64);

impl Rng {
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    /// True with probability `pct`%.
    pub fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

/// Seed from `FERROFS_SEED` or the given default.
pub fn seed(default: u64) -> u64 {
    std::env::var("FERROFS_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// Scale factor for test sizes from `FERROFS_TEST_SCALE` (default 1).
pub fn scale() -> u64 {
    std::env::var("FERROFS_TEST_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1)
}

/// A freshly formatted in-memory filesystem of `mib` MiB.
pub fn new_fs(mib: u64) -> Fs<MemDev> {
    let opts = FormatOptions {
        label: b"test".to_vec(),
        uuid: [0x42; 16],
        total_blocks: mib * 256,
        time: Timespec { sec: 1_700_000_000, nsec: 5 },
    };
    Fs::format(MemDev(vec![0u8; (mib << 20) as usize]), &opts).expect("format")
}

/// Runs fsck on the image (no repair) and returns the report and image.
pub fn fsck_image(dev: MemDev, semantic: bool) -> (Report, MemDev) {
    fsck::check(dev, &Options { repair: false, semantic, preen: false })
}

/// Commits, checks the image with fsck (asserting it is clean) and reopens.
pub fn commit_check_reopen(mut fs: Fs<MemDev>, semantic: bool) -> Fs<MemDev> {
    fs.commit().expect("commit");
    let (rep, dev) = fsck_image(fs.into_device(), semantic);
    assert!(rep.problems.is_empty() && rep.fatal.is_none(), "fsck found problems: {:#?} {:?}", rep.problems, rep.fatal);
    Fs::open(dev).expect("reopen")
}

/// Every item of the fs tree, in order.
pub fn dump_fs_tree(fs: &mut Fs<MemDev>) -> Vec<(Key, Vec<u8>)> {
    let mut out = Vec::new();
    let root = fs.fs_root;
    tree::for_each_in(&mut fs.store, &root, &Key::MIN, &Key::MAX, |k, d| {
        out.push((*k, d.to_vec()));
        Ok(true)
    })
    .expect("iterate");
    out
}
