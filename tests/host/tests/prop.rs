//! Property test: random B+tree operations against a `BTreeMap` model over
//! an in-memory block store, with commits, crashes and reopens, and fsck
//! after every commit.

use std::collections::BTreeMap;

use ferrofs_format::key::Key;
use ferrofs_format::layout::MAX_ITEM_DATA;
use ferrofs_format::tree;
use ferrofs_format::FsError;
use ferrofs_host_tests::*;

const TY: u8 = 200;

fn rand_key(r: &mut Rng) -> Key {
    Key::new(1000 + r.below(40), TY, r.below(200))
}

fn rand_val(r: &mut Rng) -> Vec<u8> {
    let len = if r.chance(3) { 1000 + r.below(MAX_ITEM_DATA as u64 - 999) } else { r.below(300) };
    r.bytes(len as usize)
}

fn verify_all(fs: &mut ferrofs_tools::fs::Fs<ferrofs_tools::dev::MemDev>, model: &BTreeMap<Key, Vec<u8>>) {
    let got = dump_fs_tree(fs);
    let want: Vec<(Key, Vec<u8>)> = model.iter().map(|(k, v)| (*k, v.clone())).collect();
    assert_eq!(got.len(), want.len(), "item count differs");
    assert!(got == want, "tree contents differ from model");
}

fn run(seed: u64, ops: u64) {
    let mut r = Rng(seed);
    let mut fs = new_fs(24);
    let mut model: BTreeMap<Key, Vec<u8>> = dump_fs_tree(&mut fs).into_iter().collect();
    let mut committed = model.clone();
    for op in 0..ops {
        let root_before = fs.fs_root;
        match r.below(100) {
            0..=39 => {
                let (k, v) = (rand_key(&mut r), rand_val(&mut r));
                let res = tree::insert(&mut fs.store, &mut fs.fs_root, &k, &v);
                if let std::collections::btree_map::Entry::Vacant(slot) = model.entry(k) {
                    res.unwrap_or_else(|e| panic!("seed {seed} op {op}: insert {k:?} failed: {e}"));
                    slot.insert(v);
                } else {
                    assert_eq!(res, Err(FsError::Exists));
                    assert_eq!(fs.fs_root, root_before, "failed insert changed the root");
                }
            }
            40..=64 => {
                // delete: mostly existing keys
                let k = if r.chance(80) && !model.is_empty() {
                    *model.keys().nth(r.below(model.len() as u64) as usize).unwrap()
                } else {
                    rand_key(&mut r)
                };
                let res = tree::delete(&mut fs.store, &mut fs.fs_root, &k);
                if model.remove(&k).is_some() {
                    res.unwrap_or_else(|e| panic!("seed {seed} op {op}: delete {k:?} failed: {e}"));
                } else {
                    assert_eq!(res, Err(FsError::NotFound));
                }
            }
            65..=74 => {
                let k = rand_key(&mut r);
                let got = tree::lookup(&mut fs.store, &fs.fs_root, &k).unwrap().map(|it| it.data().to_vec());
                assert_eq!(got.as_ref(), model.get(&k), "lookup {k:?}");
            }
            75..=84 => {
                // replace or resize an existing item
                if let Some(k) = (!model.is_empty()).then(|| *model.keys().nth(r.below(model.len() as u64) as usize).unwrap()) {
                    if r.chance(50) {
                        let v = rand_val(&mut r);
                        tree::replace(&mut fs.store, &mut fs.fs_root, &k, &v).unwrap();
                        model.insert(k, v);
                    } else {
                        let n = r.below(MAX_ITEM_DATA as u64 + 1) as usize;
                        tree::resize(&mut fs.store, &mut fs.fs_root, &k, n).unwrap();
                        let v = model.get_mut(&k).unwrap();
                        v.resize(n, 0);
                        let got = tree::lookup(&mut fs.store, &fs.fs_root, &k).unwrap().unwrap().data().to_vec();
                        assert_eq!(&got, v, "resize {k:?}");
                    }
                }
            }
            85..=94 => {
                let k = rand_key(&mut r);
                let ge = tree::search_ge(&mut fs.store, &fs.fs_root, &k).unwrap().map(|it| it.key());
                assert_eq!(ge, model.range(k..).next().map(|(k, _)| *k), "search_ge {k:?}");
                let le = tree::search_le(&mut fs.store, &fs.fs_root, &k).unwrap().map(|it| it.key());
                assert_eq!(le, model.range(..=k).next_back().map(|(k, _)| *k), "search_le {k:?}");
                let nx = tree::next(&mut fs.store, &fs.fs_root, &k).unwrap().map(|it| it.key());
                assert_eq!(nx, model.range(k..).find(|(x, _)| **x > k).map(|(k, _)| *k), "next {k:?}");
            }
            95..=97 => {
                // range iteration with early stop
                let lo = rand_key(&mut r);
                let hi = rand_key(&mut r);
                let limit = r.below(20) as usize;
                let mut got = Vec::new();
                tree::for_each_in(&mut fs.store, &fs.fs_root, &lo, &hi, |k, _| {
                    got.push(*k);
                    Ok(got.len() < limit)
                })
                .unwrap();
                let want: Vec<Key> = if lo <= hi { model.range(lo..=hi).map(|(k, _)| *k).take(limit.max(1)).collect() } else { vec![] };
                if limit > 0 {
                    assert_eq!(got, want, "range {lo:?}..={hi:?}");
                }
            }
            _ => {
                match r.below(4) {
                    0 => {
                        // crash before the superblock flip: everything since the
                        // last commit must be gone, the old tree intact
                        fs.commit_without_superblock().unwrap();
                        let dev = fs.into_device();
                        fs = ferrofs_tools::fs::Fs::open(dev).unwrap();
                        model = committed.clone();
                        verify_all(&mut fs, &model);
                    }
                    _ => {
                        fs = commit_check_reopen(fs, false);
                        committed = model.clone();
                        verify_all(&mut fs, &model);
                    }
                }
            }
        }
    }
    fs = commit_check_reopen(fs, false);
    verify_all(&mut fs, &model);
}

#[test]
fn random_ops_against_model() {
    let base = seed(1);
    for s in 0..3 {
        run(base.wrapping_add(s), 2500 * scale());
    }
}

#[test]
fn deep_tree_grow_and_shrink() {
    // ~30k empty items: 3 levels; then delete everything in random order
    let mut fs = new_fs(32);
    let root_item = dump_fs_tree(&mut fs);
    let mut keys: Vec<Key> = (0..30_000u64).map(|i| Key::new(5000 + i / 7, TY, i % 7)).collect();
    let mut r = Rng(seed(7));
    for k in &keys {
        tree::insert(&mut fs.store, &mut fs.fs_root, k, &[]).unwrap();
    }
    assert!(fs.fs_root.level >= 2, "tree should have grown to 3 levels, got {}", fs.fs_root.level);
    fs = commit_check_reopen(fs, false);
    for i in (1..keys.len()).rev() {
        keys.swap(i, r.below(i as u64 + 1) as usize);
    }
    for (n, k) in keys.iter().enumerate() {
        tree::delete(&mut fs.store, &mut fs.fs_root, k).unwrap();
        if n % 10_000 == 9_999 {
            fs = commit_check_reopen(fs, false);
        }
    }
    fs = commit_check_reopen(fs, false);
    assert_eq!(dump_fs_tree(&mut fs), root_item);
    assert_eq!(fs.fs_root.level, 0);
    // all space back except the two roots and the root inode's leaf
    assert_eq!(fs.used_blocks, 2);
}
