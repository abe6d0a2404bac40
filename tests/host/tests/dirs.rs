//! Directory operations through the format crate: link/unlink with many
//! names (exercising item resize and leaf splits), readdir order, fsck.

use std::collections::BTreeMap;

use ferrofs_format::dir;
use ferrofs_format::inode;
use ferrofs_format::items::{InodeItem, FT_DIR, FT_REG, S_IFDIR, S_IFREG};
use ferrofs_format::key::{DIR_ENTRY, DIR_INDEX, INODE_EXTREF, INODE_REF};
use ferrofs_format::layout::ROOT_DIR_INO;
use ferrofs_format::superblock::INCOMPAT_EXTREF;
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
    // one file with many hard links in the same directory: a long INODE_REF item (and past its
    // room INODE_EXTREF items)
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

/// The number of items of inode `ino` with type `ty`.
fn count_items(fs: &mut ferrofs_tools::fs::Fs<ferrofs_tools::dev::MemDev>, ino: u64, ty: u8) -> usize {
    dump_fs_tree(fs).iter().filter(|(k, _)| k.objectid == ino && k.ty == ty).count()
}

/// A directory `d` under the root and a regular file `f` without names yet: `(d, f)`.
fn dir_and_file(fs: &mut ferrofs_tools::fs::Fs<ferrofs_tools::dev::MemDev>) -> (u64, u64) {
    let d = fs.alloc_ino();
    fs.write_inode(d, &InodeItem { nlink: 2, mode: S_IFDIR | 0o755, ..Default::default() }).unwrap();
    fs.link(ROOT_DIR_INO, b"d", d, FT_DIR).unwrap();
    let mut root = fs.read_inode(ROOT_DIR_INO).unwrap().unwrap();
    root.nlink = 3;
    fs.write_inode(ROOT_DIR_INO, &root).unwrap();
    let f = fs.alloc_ino();
    (d, f)
}

fn set_nlink(fs: &mut ferrofs_tools::fs::Fs<ferrofs_tools::dev::MemDev>, ino: u64, nlink: u32) {
    fs.write_inode(ino, &InodeItem { nlink, mode: S_IFREG | 0o644, ..Default::default() }).unwrap();
}

/// Names of `f` in `d` in readdir order.
fn names_in(fs: &mut ferrofs_tools::fs::Fs<ferrofs_tools::dev::MemDev>, d: u64, f: u64) -> Vec<(u64, Vec<u8>)> {
    let (mut pos, mut got, mut buf) = (0, Vec::new(), [0u8; 255]);
    while let Some((idx, ino, _, n)) = dir::readdir_next(&mut fs.store, &fs.fs_root, d, pos, &mut buf).unwrap() {
        if ino == f {
            got.push((idx, buf[..n].to_vec()));
        }
        pos = idx + 1;
    }
    got
}

/// fstests generic/040 and generic/041: 3000 hard links of one file in one directory. The names
/// past the room of the `INODE_REF` item go into `INODE_EXTREF` items; every name is found,
/// listed and removed again, in a shuffled order, with fsck clean along the way.
#[test]
fn thousands_of_hard_links_in_one_directory() {
    let mut fs = new_fs(32);
    assert!(fs.sb.extrefs(), "a new filesystem has INCOMPAT_EXTREF");
    let mut r = Rng(seed(40));
    let (d, f) = dir_and_file(&mut fs);
    let n = 3000;
    let mut model: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
    for i in 0..n {
        // mostly short names as the fstests use, some long ones
        let pad = if r.chance(10) { 200 } else { r.below(8) as usize };
        let name = format!("link-{i}-{}", "p".repeat(pad)).into_bytes();
        let idx = fs.link(d, &name, f, FT_REG).unwrap_or_else(|e| panic!("link {i}: {e}"));
        model.insert(name, idx);
    }
    assert_eq!(fs.link(d, model.keys().next().unwrap(), f, FT_REG), Err(FsError::Exists));
    set_nlink(&mut fs, f, n);
    assert_eq!(count_items(&mut fs, f, INODE_REF), 1);
    let extref_items = count_items(&mut fs, f, INODE_EXTREF);
    assert!(extref_items > 2500, "only {extref_items} INODE_EXTREF items for 3000 names");
    fs = commit_check_reopen(fs, true);
    for (name, idx) in &model {
        let got = dir::lookup(&mut fs.store, &fs.fs_root, d, name).unwrap().unwrap();
        assert_eq!((got.ino, got.index), (f, *idx), "{}", String::from_utf8_lossy(name));
    }
    let mut by_index: Vec<(u64, Vec<u8>)> = model.iter().map(|(n, i)| (*i, n.clone())).collect();
    by_index.sort();
    assert_eq!(names_in(&mut fs, d, f), by_index);
    // remove them in a shuffled order; fsck half way
    let mut order: Vec<Vec<u8>> = model.keys().cloned().collect();
    for i in (1..order.len()).rev() {
        order.swap(i, r.below(i as u64 + 1) as usize);
    }
    let mut nlink = n;
    for (k, name) in order.iter().enumerate() {
        let found = dir::unlink(&mut fs.store, &mut fs.fs_root, d, name).unwrap();
        assert_eq!((found.ino, found.index), (f, model[name]));
        assert_eq!(dir::lookup(&mut fs.store, &fs.fs_root, d, name).unwrap(), None);
        nlink -= 1;
        if k == order.len() / 2 {
            set_nlink(&mut fs, f, nlink);
            fs = commit_check_reopen(fs, true);
        }
    }
    assert_eq!(dir::unlink(&mut fs.store, &mut fs.fs_root, d, &order[0]), Err(FsError::NotFound));
    assert_eq!(count_items(&mut fs, f, INODE_REF) + count_items(&mut fs, f, INODE_EXTREF), 0, "back references left");
    assert!(names_in(&mut fs, d, f).is_empty());
    ferrofs_format::tree::delete(&mut fs.store, &mut fs.fs_root, &inode::inode_key(f)).unwrap();
    fs = commit_check_reopen(fs, true);
    assert_eq!(dir::next_index(&mut fs.store, &fs.fs_root, d).unwrap(), 2);
}

/// A filesystem without `INCOMPAT_EXTREF` keeps the old limit: `EMLINK` once the `INODE_REF`
/// item is full, and the refused link changes nothing.
#[test]
fn without_the_extref_bit_links_stop_at_emlink() {
    let mut fs = new_fs(16);
    fs.sb.incompat &= !INCOMPAT_EXTREF;
    fs = commit_check_reopen(fs, true);
    assert!(!fs.sb.extrefs(), "the bit stays cleared on disk");
    let (d, f) = dir_and_file(&mut fs);
    let mut n = 0u32;
    loop {
        let name = format!("link-{n}");
        let before = dump_fs_tree(&mut fs);
        match fs.link(d, name.as_bytes(), f, FT_REG) {
            Ok(_) => n += 1,
            Err(FsError::TooManyLinks) => {
                assert_eq!(dump_fs_tree(&mut fs), before, "the refused link changed the tree");
                break;
            }
            Err(e) => panic!("link {n}: {e}"),
        }
        assert!(n < 1000, "no EMLINK without INCOMPAT_EXTREF");
    }
    assert!((90..300).contains(&n), "{n} links");
    assert_eq!(count_items(&mut fs, f, INODE_EXTREF), 0);
    // other inodes and other directories are not affected
    let g = fs.alloc_ino();
    fs.write_inode(g, &InodeItem { nlink: 2, mode: S_IFREG | 0o644, ..Default::default() }).unwrap();
    fs.link(d, b"other", g, FT_REG).unwrap();
    fs.link(ROOT_DIR_INO, b"f-in-root", f, FT_REG).unwrap();
    fs.link(ROOT_DIR_INO, b"g-in-root", g, FT_REG).unwrap();
    set_nlink(&mut fs, f, n + 1);
    // freeing a name makes room again
    dir::unlink(&mut fs.store, &mut fs.fs_root, d, b"link-3").unwrap();
    fs.link(d, b"again", f, FT_REG).unwrap();
    assert_eq!(fs.link(d, b"one-more", f, FT_REG), Err(FsError::TooManyLinks));
    fs = commit_check_reopen(fs, true);
    // an extref item on such a filesystem is damage
    dir::link(&mut fs.store, &mut fs.fs_root, d, b"sneaked-in", f, FT_REG, true).unwrap();
    set_nlink(&mut fs, f, n + 2);
    fs.commit().unwrap();
    let (rep, _) = fsck_image(fs.into_device(), true);
    let msgs: Vec<&str> = rep.problems.iter().map(|p| p.msg.as_str()).collect();
    assert_eq!(msgs, [format!("inode {f}: extended back reference item on a filesystem without the extref feature (incompat bit)")], "{msgs:?}");
}

/// Fills `f`'s `INODE_REF` item for `d` and puts `extra` more names into `INODE_EXTREF` items;
/// returns the names in each.
fn fill_ref_and_extrefs(fs: &mut ferrofs_tools::fs::Fs<ferrofs_tools::dev::MemDev>, d: u64, f: u64, extra: usize) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let (mut in_ref, mut in_ext) = (Vec::new(), Vec::new());
    for i in 0.. {
        let name = format!("name-{i:04}").into_bytes();
        let refs = count_items(fs, f, INODE_EXTREF);
        fs.link(d, &name, f, FT_REG).unwrap();
        if count_items(fs, f, INODE_EXTREF) > refs {
            in_ext.push(name);
            if in_ext.len() == extra {
                break;
            }
        } else {
            assert!(in_ext.is_empty(), "a name went back into INODE_REF");
            in_ref.push(name);
        }
    }
    (in_ref, in_ext)
}

/// rename (the kernel's is `dir::unlink` then `dir::link`) of names living in `INODE_EXTREF`
/// items: in one directory, to another directory and back, over an existing name.
#[test]
fn rename_names_in_extrefs() {
    let mut fs = new_fs(16);
    let (d, f) = dir_and_file(&mut fs);
    let (in_ref, in_ext) = fill_ref_and_extrefs(&mut fs, d, f, 20);
    let mut nlink = (in_ref.len() + in_ext.len()) as u32;
    set_nlink(&mut fs, f, nlink);
    let d2 = fs.alloc_ino();
    fs.write_inode(d2, &InodeItem { nlink: 2, mode: S_IFDIR | 0o755, ..Default::default() }).unwrap();
    fs.link(ROOT_DIR_INO, b"d2", d2, FT_DIR).unwrap();
    let mut root = fs.read_inode(ROOT_DIR_INO).unwrap().unwrap();
    root.nlink = 4;
    fs.write_inode(ROOT_DIR_INO, &root).unwrap();
    let rename = |fs: &mut ferrofs_tools::fs::Fs<ferrofs_tools::dev::MemDev>, from: u64, old: &[u8], to: u64, new: &[u8]| {
        let src = dir::lookup(&mut fs.store, &fs.fs_root, from, old).unwrap().unwrap();
        if let Ok(t) = dir::unlink(&mut fs.store, &mut fs.fs_root, to, new) {
            assert_ne!(t.ino, src.ino, "rename onto another name of the same inode is a no-op in the VFS");
        }
        assert_eq!(dir::unlink(&mut fs.store, &mut fs.fs_root, from, old).unwrap(), src);
        fs.link(to, new, src.ino, src.ftype).unwrap();
        assert_eq!(dir::lookup(&mut fs.store, &fs.fs_root, from, old).unwrap(), None);
        assert_eq!(dir::lookup(&mut fs.store, &fs.fs_root, to, new).unwrap().unwrap().ino, src.ino);
    };
    // within the directory: an extref name stays an extref name (the INODE_REF item is still full)
    let ext_before = count_items(&mut fs, f, INODE_EXTREF);
    rename(&mut fs, d, &in_ext[0], d, b"renamed-ext-0");
    assert_eq!(count_items(&mut fs, f, INODE_EXTREF), ext_before);
    // a name from INODE_REF makes room there: its new name goes into INODE_REF
    rename(&mut fs, d, &in_ref[0], d, b"r0");
    assert_eq!(count_items(&mut fs, f, INODE_EXTREF), ext_before);
    // to another directory (into the empty INODE_REF item for d2) and back (into an extref again)
    rename(&mut fs, d, &in_ext[1], d2, b"moved");
    assert_eq!(count_items(&mut fs, f, INODE_EXTREF), ext_before - 1);
    assert_eq!(count_items(&mut fs, f, INODE_REF), 2);
    fs = commit_check_reopen(fs, true);
    rename(&mut fs, d2, b"moved", d, b"moved-back-with-a-longer-name");
    assert_eq!(count_items(&mut fs, f, INODE_EXTREF), ext_before);
    assert_eq!(count_items(&mut fs, f, INODE_REF), 1);
    // over an existing name of another inode, which goes away
    let g = fs.alloc_ino();
    fs.write_inode(g, &InodeItem { nlink: 1, mode: S_IFREG | 0o644, ..Default::default() }).unwrap();
    fs.link(d, b"victim", g, FT_REG).unwrap();
    rename(&mut fs, d, &in_ext[2], d, b"victim");
    ferrofs_format::tree::delete(&mut fs.store, &mut fs.fs_root, &inode::inode_key(g)).unwrap();
    // an extref name onto another inode's name, and the other inode's name onto an extref name
    let h = fs.alloc_ino();
    fs.write_inode(h, &InodeItem { nlink: 1, mode: S_IFREG | 0o644, ..Default::default() }).unwrap();
    fs.link(d, b"h", h, FT_REG).unwrap();
    rename(&mut fs, d, b"h", d, &in_ext[3]);
    nlink -= 1;
    set_nlink(&mut fs, f, nlink);
    fs = commit_check_reopen(fs, true);
    assert_eq!(dir::lookup(&mut fs.store, &fs.fs_root, d, &in_ext[3]).unwrap().unwrap().ino, h);
    assert_eq!(names_in(&mut fs, d, f).len() as u32, nlink);
}

/// fsck's checks of `INODE_EXTREF` items: the key hash, a name with two back references, a
/// back reference without its entry, an entry without its back reference.
#[test]
fn fsck_checks_extrefs() {
    use ferrofs_format::items::{extref_hash, InodeExtref};
    use ferrofs_format::key::Key;
    use ferrofs_format::tree;
    let problems = |fs: ferrofs_tools::fs::Fs<ferrofs_tools::dev::MemDev>| -> Vec<String> {
        let mut fs = fs;
        fs.commit().unwrap();
        let (rep, _) = fsck_image(fs.into_device(), true);
        rep.problems.into_iter().map(|p| p.msg).collect()
    };
    let setup = || {
        let mut fs = new_fs(16);
        let (d, f) = dir_and_file(&mut fs);
        let (in_ref, in_ext) = fill_ref_and_extrefs(&mut fs, d, f, 3);
        set_nlink(&mut fs, f, (in_ref.len() + in_ext.len()) as u32);
        let fs = commit_check_reopen(fs, true);
        (fs, d, f, in_ref, in_ext)
    };
    // wrong hash: the item moved to another key
    let (mut fs, d, f, _, in_ext) = setup();
    let k = Key::new(f, INODE_EXTREF, extref_hash(d, &in_ext[0]));
    let v = tree::lookup(&mut fs.store, &fs.fs_root, &k).unwrap().unwrap().data().to_vec();
    tree::delete(&mut fs.store, &mut fs.fs_root, &k).unwrap();
    tree::insert(&mut fs.store, &mut fs.fs_root, &Key::new(f, INODE_EXTREF, k.offset ^ 1), &v).unwrap();
    let nm = String::from_utf8_lossy(&in_ext[0]).into_owned();
    assert_eq!(
        problems(fs),
        [
            format!("inode {f}: no back reference for entry '{nm}' in directory {d}"),
            format!("inode {f}: extended back reference to directory {d} '{nm}' stored under the wrong hash"),
        ]
    );
    // a name recorded both in INODE_REF and in an extref
    let (mut fs, d, f, in_ref, _) = setup();
    let idx = dir::lookup(&mut fs.store, &fs.fs_root, d, &in_ref[0]).unwrap().unwrap().index;
    let x = InodeExtref { dir: d, index: idx, name: &in_ref[0] };
    let mut v = vec![0u8; x.len()];
    x.write_to(&mut v).unwrap();
    tree::insert(&mut fs.store, &mut fs.fs_root, &Key::new(f, INODE_EXTREF, extref_hash(d, &in_ref[0])), &v).unwrap();
    let nm = String::from_utf8_lossy(&in_ref[0]).into_owned();
    assert_eq!(problems(fs), [format!("inode {f}: name '{nm}' in directory {d} has two back references")]);
    // an extref name whose directory entry is gone, and a malformed extref item
    let (mut fs, d, f, _, in_ext) = setup();
    let found = dir::lookup(&mut fs.store, &fs.fs_root, d, &in_ext[1]).unwrap().unwrap();
    tree::delete(&mut fs.store, &mut fs.fs_root, &Key::new(d, DIR_INDEX, found.index)).unwrap();
    tree::delete(&mut fs.store, &mut fs.fs_root, &Key::new(d, DIR_ENTRY, ferrofs_format::items::name_hash(&in_ext[1]))).unwrap();
    tree::insert(&mut fs.store, &mut fs.fs_root, &Key::new(f, INODE_EXTREF, 12345), &[1, 2, 3]).unwrap();
    let nm = String::from_utf8_lossy(&in_ext[1]).into_owned();
    let p = problems(fs);
    assert!(p.contains(&format!("inode {f}: back reference to directory {d} '{nm}' has no directory entry")), "{p:?}");
    assert!(p.contains(&format!("inode {f}: malformed extended back reference item")), "{p:?}");
    assert!(p.iter().any(|m| m.contains("wrong nlink")), "{p:?}");
}
