//! `cargo +nightly fuzz run parse`: superblock, node and item parsers (xattr entries included) must
//! never panic on arbitrary bytes.
#![no_main]

use ferrofs_format::items::{DirEntry, DirIndex, ExtentData, ExtentItem, InodeExtref, InodeItem, InodeRef};
use ferrofs_format::layout::BLOCK_SIZE;
use ferrofs_format::node::{self, Expect};
use ferrofs_format::superblock::DiskSuper;
use ferrofs_format::{xattr, Key};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut block = vec![0u8; BLOCK_SIZE];
    let n = data.len().min(BLOCK_SIZE);
    block[..n].copy_from_slice(&data[..n]);
    let blk = 16;
    let _ = DiskSuper::parse(&block, blk);
    // also with a valid checksum so the deeper checks run
    let mut fixed = block.clone();
    let _ = node::finalize(&mut fixed);
    for b in [&block, &fixed] {
        let _ = DiskSuper::parse(b, blk);
        if let Ok(h) = node::check_node(b, u64::from_le_bytes(b[8..16].try_into().unwrap()), &Expect::default()) {
            for i in 0..usize::from(h.nritems) {
                if h.level == 0 {
                    let d = node::leaf_data(b, i).unwrap_or(&[]);
                    let _ = InodeItem::parse(d, blk);
                    let _ = ExtentData::parse(d, blk);
                    let _ = ExtentItem::parse(d, blk);
                    let _ = DirIndex::parse(d, blk);
                    let _ = DirEntry::iter(d, blk).count();
                    let _ = InodeRef::iter(d, blk).count();
                    let _ = InodeExtref::iter(d, blk).count();
                    let _ = xattr::check_item(d, blk);
                } else {
                    let _ = node::ptr(b, i);
                }
            }
        }
        let _ = node::leaf_find(b, &Key::new(256, 1, 0));
        let _ = node::child_slot(b, &Key::new(256, 1, 0));
        let _ = node::used_bytes(b);
    }
    let _ = InodeItem::parse(data, blk);
    let _ = DirEntry::iter(data, blk).count();
    let _ = InodeRef::iter(data, blk).count();
    let _ = InodeExtref::iter(data, blk).count();
    let _ = xattr::check_item(data, blk);
});
