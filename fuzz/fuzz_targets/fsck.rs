//! `scripts/fuzz SECONDS` with FUZZ_TARGET=fsck: fsck.ferrofs's checker (and its repair) must never
//! panic on a damaged image. The input is a list of (block, offset, xor) patches applied to the
//! metadata blocks of a small, populated image; odd-numbered patches are re-checksummed so the
//! checks behind the checksum run too.
#![no_main]

use ferrofs_format::layout::BLOCK_SIZE;
use ferrofs_format::node;
use ferrofs_format::items::{InodeItem, FT_REG, S_IFREG};
use ferrofs_tools::dev::MemDev;
use ferrofs_tools::fs::{FormatOptions, Fs};
use ferrofs_tools::fsck::{check, Options};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const BLOCKS: u64 = 4096;

fn template() -> &'static (Vec<u8>, Vec<u64>) {
    static T: OnceLock<(Vec<u8>, Vec<u64>)> = OnceLock::new();
    T.get_or_init(|| {
        let opts = FormatOptions { label: b"fuzz".to_vec(), uuid: [7; 16], total_blocks: BLOCKS, time: Default::default() };
        let mut fs = Fs::format(MemDev(vec![0; BLOCKS as usize * BLOCK_SIZE]), &opts).expect("format");
        for i in 0..40u64 {
            let ino = fs.alloc_ino();
            let len = (i % 3 + 1) * BLOCK_SIZE as u64;
            let inode = InodeItem { mode: S_IFREG | 0o644, nlink: 1, size: len, nbytes: len, ..Default::default() };
            fs.write_inode(ino, &inode).expect("inode");
            fs.link(256, format!("file-{i}").as_bytes(), ino, FT_REG).expect("link");
            fs.write_data(ino, 0, &vec![i as u8; len as usize]).expect("data");
        }
        fs.commit().expect("commit");
        let root = fs.ext_root;
        let mut meta = vec![16, 255];
        ferrofs_format::extent::for_each_extent(&mut fs.store, &root, |s, _, item| {
            if item.flags & ferrofs_format::items::EXTENT_FLAG_META != 0 {
                meta.push(s);
            }
            Ok(())
        })
        .expect("extents");
        (fs.into_device().0, meta)
    })
}

fuzz_target!(|data: &[u8]| {
    let (image, meta) = template();
    let mut img = image.clone();
    for (i, p) in data.chunks_exact(4).enumerate() {
        let blk = meta[p[0] as usize % meta.len()] as usize;
        let off = blk * BLOCK_SIZE + (u16::from_le_bytes([p[1], p[2]]) as usize % BLOCK_SIZE);
        img[off] ^= p[3] | 1;
        if i % 2 == 1 {
            let _ = node::finalize(&mut img[blk * BLOCK_SIZE..(blk + 1) * BLOCK_SIZE]);
        }
    }
    let (_, dev) = check(MemDev(img), &Options { repair: false, semantic: true });
    let _ = check(dev, &Options { repair: true, semantic: true });
});
