//! Parsers never panic: random and mutated blocks fed to every parser.

use ferrofs_format::items::{DirEntry, DirIndex, ExtentData, ExtentItem, InodeExtref, InodeItem, InodeRef};
use ferrofs_format::layout::{BLOCK_SIZE, SUPER_BLOCK_NR};
use ferrofs_format::node::{self, Expect};
use ferrofs_format::superblock::DiskSuper;
use ferrofs_format::{BlockStore, Key};
use ferrofs_host_tests::*;

fn exercise_node(b: &[u8], blk: u64) {
    let _ = node::check_node(b, blk, &Expect::default());
    // accessors must be total even on unvalidated input
    let n = node::nritems(b);
    for i in 0..n.min(300) + 2 {
        let _ = node::leaf_item(b, i);
        let _ = node::leaf_data(b, i);
        let _ = node::ptr(b, i);
    }
    let _ = node::leaf_find(b, &Key::new(300, 1, 0));
    let _ = node::child_slot(b, &Key::new(300, 1, 0));
    let _ = node::used_bytes(b);
    let _ = node::first_key(b);
}

fn exercise_items(d: &[u8]) {
    let _ = InodeItem::parse(d, 0);
    let _ = ExtentData::parse(d, 0);
    let _ = ExtentItem::parse(d, 0);
    let _ = DirIndex::parse(d, 0);
    let _ = DirEntry::iter(d, 0).count();
    let _ = InodeRef::iter(d, 0).count();
    let _ = InodeExtref::iter(d, 0).count();
}

#[test]
fn random_blocks_never_panic() {
    let mut r = Rng(seed(99));
    for _ in 0..3000 {
        let b = r.bytes(BLOCK_SIZE);
        let _ = DiskSuper::parse(&b, SUPER_BLOCK_NR);
        exercise_node(&b, r.below(10_000));
        let len = r.below(300) as usize;
        exercise_items(&b[..len]);
        // wrong-sized buffers
        let _ = DiskSuper::parse(&b[..len], SUPER_BLOCK_NR);
        let _ = node::check_node(&b[..len], 1, &Expect::default());
    }
}

#[test]
fn mutated_real_blocks_never_panic() {
    let mut fs = new_fs(16);
    // fill the fs tree a little so there are real leaves and internal nodes
    let mut r = Rng(seed(5));
    for i in 0..2000u64 {
        let n = r.below(100) as usize;
        let v = r.bytes(n);
        ferrofs_format::tree::insert(&mut fs.store, &mut fs.fs_root, &Key::new(1000 + i, 200, 0), &v).unwrap();
    }
    fs.commit().unwrap();
    let mut blocks = vec![SUPER_BLOCK_NR, fs.sb.fs_root.block, fs.sb.extent_root.block];
    for i in 0..2 {
        let b = fs.store.read(blocks[1 + i]).unwrap();
        if node::level(&b) > 0 {
            blocks.push(node::ptr(&b, 0).unwrap().1);
        }
    }
    for &blk in &blocks {
        let orig = fs.store.read(blk).unwrap();
        for round in 0..400 {
            let mut b = orig.clone();
            for _ in 0..1 + r.below(6) {
                let off = if r.chance(50) { r.below(200) } else { r.below(BLOCK_SIZE as u64) } as usize;
                b[off] = r.next_u64() as u8;
            }
            if round % 2 == 0 {
                node::finalize(&mut b).unwrap();
            }
            let _ = DiskSuper::parse(&b, blk);
            exercise_node(&b, blk);
            if let Ok(h) = node::check_node(&b, blk, &Expect::default()) {
                if h.level == 0 {
                    for i in 0..node::nritems(&b) {
                        exercise_items(node::leaf_data(&b, i).unwrap());
                    }
                }
            }
        }
    }
}

#[test]
fn fsck_on_mutated_images_never_panics() {
    let mut fs = new_fs(16);
    let mut r = Rng(seed(11));
    for i in 0..800u64 {
        let n = r.below(200) as usize;
        let v = r.bytes(n);
        ferrofs_format::tree::insert(&mut fs.store, &mut fs.fs_root, &Key::new(1000 + i, 200, 0), &v).unwrap();
    }
    fs.commit().unwrap();
    let meta: Vec<u64> = {
        let mut v = vec![SUPER_BLOCK_NR, 255];
        let root = fs.ext_root;
        ferrofs_format::extent::for_each_extent(&mut fs.store, &root, |s, _, _| {
            v.push(s);
            Ok(())
        })
        .unwrap();
        v
    };
    let image = fs.into_device();
    for round in 0..150 {
        let mut dev = image.clone();
        let blk = meta[r.below(meta.len() as u64) as usize] as usize;
        let base = blk * BLOCK_SIZE;
        for _ in 0..1 + r.below(3) {
            let lim = if r.chance(70) { 400 } else { BLOCK_SIZE as u64 };
            let off = base + r.below(lim) as usize;
            dev.0[off] ^= 1 << r.below(8);
        }
        if round % 3 != 0 {
            node::finalize(&mut dev.0[base..base + BLOCK_SIZE]).unwrap();
        }
        let (rep, dev) = fsck_image(dev, false);
        let _ = rep.exit_code();
        let _ = ferrofs_tools::fsck::check(dev, &ferrofs_tools::fsck::Options { repair: true, semantic: true, preen: false });
    }
}
