//! Directory operations through the format crate: link/unlink with many
//! names (exercising item resize and leaf splits), readdir order, fsck.

use std::collections::BTreeMap;

use ferrofs_format::dir;
use ferrofs_format::inode;
use ferrofs_format::items::{InodeItem, FT_DIR, FT_REG, S_IFDIR, S_IFREG};
use ferrofs_format::layout::ROOT_DIR_INO;
use ferrofs_format::FsError;
use ferrofs_host_tests::*;

#[test]
fn link_unlink_readdir_fsck() {
    let mut fs = new_fs(16);
    let mut r = Rng(seed(3));
    let d = fs.alloc_ino();
    let di = InodeItem { nlink: 2, mode: S_IFDIR | 0o755, ..Default::default() };
    fs.write_inode(d, &di).unwrap();
    fs.link(ROOT_DIR_INO, b"d", d, FT_DIR).unwrap();
    let mut root = fs.read_inode(ROOT_DIR_INO).unwrap().unwrap();
    root.nlink = 3;
    fs.write_inode(ROOT_DIR_INO, &root).unwrap();
    // one file with many hard links in the same directory: a long INODE_REF item
    let f = fs.alloc_ino();
    let mut model: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
    let mut nlink = 0u32;
    for i in 0..400 {
        let len = 1 + r.below(60) as usize;
        let name: Vec<u8> = format!("{i}-").bytes().chain((0..len).map(|_| b'a' + (r.below(26) as u8))).collect();
        let idx = match fs.link(d, &name, f, FT_REG) {
            Ok(idx) => idx,
            Err(FsError::TooManyLinks) => {
                assert!(i >= 30, "INODE_REF full after only {i} names");
                break;
            }
            Err(e) => panic!("link: {e}"),
        };
        assert!(idx >= 2);
        model.insert(name, idx);
        nlink += 1;
    }
    assert_eq!(fs.link(d, model.keys().next().unwrap(), f, FT_REG), Err(FsError::Exists));
    let fi = InodeItem { nlink, mode: S_IFREG | 0o644, ..Default::default() };
    fs.write_inode(f, &fi).unwrap();
    // a second inode with more names: spreads DIR_ENTRY/DIR_INDEX over leaves
    let g = fs.alloc_ino();
    let mut gmodel = Vec::new();
    for i in 0..300 {
        let name = format!("other-{i}-{}", "x".repeat(r.below(100) as usize)).into_bytes();
        let gi = fs.alloc_ino();
        let gii = InodeItem { nlink: 1, mode: S_IFREG | 0o600, ..Default::default() };
        fs.write_inode(gi, &gii).unwrap();
        fs.link(d, &name, gi, FT_REG).unwrap();
        gmodel.push((name, gi));
    }
    let _ = g;
    fs = commit_check_reopen(fs, true);
    // remove half of them
    let names: Vec<Vec<u8>> = model.keys().cloned().collect();
    for n in names.iter().step_by(2) {
        let found = dir::unlink(&mut fs.store, &mut fs.fs_root, d, n).unwrap();
        assert_eq!(found.ino, f);
        model.remove(n);
        nlink -= 1;
    }
    assert_eq!(dir::unlink(&mut fs.store, &mut fs.fs_root, d, &names[0]), Err(FsError::NotFound));
    let fi = InodeItem { nlink, mode: S_IFREG | 0o644, ..Default::default() };
    fs.write_inode(f, &fi).unwrap();
    fs = commit_check_reopen(fs, true);
    // lookups and readdir order (by index)
    for (n, idx) in &model {
        let got = dir::lookup(&mut fs.store, &fs.fs_root, d, n).unwrap().unwrap();
        assert_eq!((got.ino, got.index), (f, *idx));
    }
    let mut by_index: Vec<(u64, Vec<u8>)> = model.iter().map(|(n, i)| (*i, n.clone())).collect();
    by_index.sort();
    let mut pos = 0;
    let mut got = Vec::new();
    let mut buf = [0u8; 255];
    while let Some((idx, ino, _, n)) = dir::readdir_next(&mut fs.store, &fs.fs_root, d, pos, &mut buf).unwrap() {
        if ino == f {
            got.push((idx, buf[..n].to_vec()));
        }
        pos = idx + 1;
    }
    assert_eq!(got, by_index);
    assert_eq!(dir::parent_of(&mut fs.store, &fs.fs_root, d).unwrap(), Some(ROOT_DIR_INO));
    // remove everything: the directory is empty again and fsck is clean
    for n in model.keys() {
        dir::unlink(&mut fs.store, &mut fs.fs_root, d, n).unwrap();
    }
    ferrofs_format::tree::delete(&mut fs.store, &mut fs.fs_root, &inode::inode_key(f)).unwrap();
    for (n, gi) in &gmodel {
        assert_eq!(dir::unlink(&mut fs.store, &mut fs.fs_root, d, n).unwrap().ino, *gi);
        ferrofs_format::tree::delete(&mut fs.store, &mut fs.fs_root, &inode::inode_key(*gi)).unwrap();
    }
    fs = commit_check_reopen(fs, true);
    assert_eq!(dir::readdir_next(&mut fs.store, &fs.fs_root, d, 0, &mut buf).unwrap(), None);
    assert_eq!(dir::next_index(&mut fs.store, &fs.fs_root, d).unwrap(), 2);
}
