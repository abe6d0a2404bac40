// SPDX-License-Identifier: GPL-2.0

//! The iomap interface: mappings with their flags, the begin and end hooks with the reason for the
//! call, source mappings for copy-on-write, the per-I/O state of a direct I/O, and the bio
//! submission hook. There is one `iomap_ops` table per I/O path (reads, buffered writes, direct
//! I/O) so that a filesystem sees which path asks.

use super::file::DioCall;
use super::fs_type::FileSystem;
use super::inode::Inode;
use crate::sys;
use core::ffi::c_uint;
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::error::{code, Result};

/// Which `iomap_ops` table the call came through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IoPath {
    /// Buffered reads, readahead, FIEMAP, SEEK_HOLE/SEEK_DATA.
    Read,
    /// Buffered writes, page faults for writing, zeroing, unsharing.
    BufferedWrite,
    /// Direct I/O (`__iomap_dio_rw`).
    Direct,
}

/// Why iomap asks for a mapping (the `IOMAP_*` flags of the call).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IomapFlags(pub(crate) u32);

// The data path (buffered writes, direct I/O) reads the flags the read path does not need.
#[allow(dead_code)]
impl IomapFlags {
    const WRITE: u32 = 1 << 0;
    const ZERO: u32 = 1 << 1;
    const REPORT: u32 = 1 << 2;
    const FAULT: u32 = 1 << 3;
    const DIRECT: u32 = 1 << 4;
    const NOWAIT: u32 = 1 << 5;
    const UNSHARE: u32 = 1 << 7;

    /// Writing: blocks must be allocated.
    pub(crate) fn write(self) -> bool {
        self.0 & Self::WRITE != 0
    }
    /// Zeroing a range (holes may stay holes).
    pub(crate) fn zero(self) -> bool {
        self.0 & Self::ZERO != 0
    }
    /// Only reporting (FIEMAP).
    pub(crate) fn report(self) -> bool {
        self.0 & Self::REPORT != 0
    }
    /// For a page fault.
    pub(crate) fn fault(self) -> bool {
        self.0 & Self::FAULT != 0
    }
    /// Direct I/O.
    pub(crate) fn direct(self) -> bool {
        self.0 & Self::DIRECT != 0
    }
    /// `IOCB_NOWAIT`: answer `EAGAIN` rather than block.
    pub(crate) fn nowait(self) -> bool {
        self.0 & Self::NOWAIT != 0
    }
    /// Unsharing a shared range.
    pub(crate) fn unshare(self) -> bool {
        self.0 & Self::UNSHARE != 0
    }
}

/// How a file range maps to the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MapKind {
    /// Not allocated: reads as zeros.
    Hole,
    /// Allocated at this device byte address.
    Mapped(u64),
    /// Allocated but never written (preallocated): reads as zeros.
    Unwritten(u64),
    /// Written to the page cache, blocks not allocated yet (only reported: FIEMAP, SEEK_DATA).
    Delalloc,
}

/// One mapping, handed to iomap by [`FileSystem::iomap_begin`] and back by `iomap_end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Mapping {
    pub(crate) kind: MapKind,
    /// File offset where the mapping starts (at or before the asked position).
    pub(crate) offset: u64,
    pub(crate) length: u64,
    /// `IOMAP_F_NEW`: freshly allocated blocks (iomap zeroes what the write does not cover).
    pub(crate) new: bool,
    /// `IOMAP_F_SHARED`: the blocks are shared; a write must copy (the source mapping says from
    /// where).
    pub(crate) shared: bool,
    /// The filesystem's own word about the mapping, handed back to `iomap_end` (`iomap->private`).
    pub(crate) private: u64,
    /// Checked by [`FileSystem::iomap_valid`] before a buffered write uses the mapping
    /// (`iomap->validity_cookie`).
    pub(crate) cookie: u64,
}

impl Mapping {
    /// A plain mapping (not new, not shared).
    pub(crate) fn new(kind: MapKind, offset: u64, length: u64) -> Self {
        Self { kind, offset, length, new: false, shared: false, private: 0, cookie: 0 }
    }

    fn to_c(self, iomap: *mut sys::iomap, bdev: *mut sys::block_device) {
        let (ty, addr) = match self.kind {
            MapKind::Hole => (sys::FERROFS_IOMAP_HOLE, u64::MAX /* IOMAP_NULL_ADDR */),
            MapKind::Mapped(a) => (sys::FERROFS_IOMAP_MAPPED, a),
            MapKind::Unwritten(a) => (sys::FERROFS_IOMAP_UNWRITTEN, a),
            MapKind::Delalloc => (sys::FERROFS_IOMAP_DELALLOC, u64::MAX),
        };
        let flags = if self.new { sys::FERROFS_IOMAP_F_NEW } else { 0 } | if self.shared { sys::FERROFS_IOMAP_F_SHARED } else { 0 };
        // SAFETY: callers pass the `iomap` iomap gave them to fill; the device outlives the mount.
        unsafe {
            (*iomap).type_ = ty;
            (*iomap).addr = addr;
            (*iomap).offset = self.offset.min(i64::MAX as u64) as _;
            (*iomap).length = self.length;
            (*iomap).flags = flags;
            (*iomap).bdev = bdev;
            sys::ferrofs_shim_set_iomap_private(iomap, self.private, self.cookie);
        }
    }

    fn from_c(iomap: *const sys::iomap) -> Self {
        // SAFETY: callers pass a mapping iomap filled through `to_c`.
        let m = unsafe { &*iomap };
        let kind = match m.type_ {
            t if t == sys::FERROFS_IOMAP_MAPPED => MapKind::Mapped(m.addr),
            t if t == sys::FERROFS_IOMAP_UNWRITTEN => MapKind::Unwritten(m.addr),
            t if t == sys::FERROFS_IOMAP_DELALLOC => MapKind::Delalloc,
            _ => MapKind::Hole,
        };
        Self {
            kind,
            offset: m.offset.max(0) as u64,
            length: m.length,
            new: m.flags & sys::FERROFS_IOMAP_F_NEW != 0,
            shared: m.flags & sys::FERROFS_IOMAP_F_SHARED != 0,
            // SAFETY: as above.
            private: unsafe { sys::ferrofs_shim_iomap_private(iomap) },
            cookie: m.validity_cookie,
        }
    }
}

/// A bio of a direct I/O, handed to [`FileSystem::dio_submit_io`], which must submit it (used
/// from the direct I/O path on).
///
/// # Invariants
///
/// `0` is a bio built by iomap for a direct I/O and not yet submitted.
#[allow(dead_code)]
pub(crate) struct Bio(NonNull<sys::bio>);

#[allow(dead_code)]
impl Bio {
    /// Submits the bio (`submit_bio`); its completion ends the direct I/O's part.
    pub(crate) fn submit(self) {
        // SAFETY: an unsubmitted bio iomap built (type invariant); submitted exactly once.
        unsafe { sys::submit_bio(self.0.as_ptr()) };
    }
}

/// The operation tables of the three I/O paths and the direct I/O operations.
pub(crate) struct IomapTables<T>(PhantomData<T>);

impl<T: FileSystem> IomapTables<T> {
    pub(crate) const READ: sys::iomap_ops = sys::iomap_ops {
        iomap_begin: Some(iomap_begin::<T, 0>),
        iomap_end: if T::HAS_IOMAP_END { Some(iomap_end::<T, 0>) } else { None },
    };
    pub(crate) const BUFFERED_WRITE: sys::iomap_ops = sys::iomap_ops {
        iomap_begin: Some(iomap_begin::<T, 1>),
        iomap_end: if T::HAS_IOMAP_END { Some(iomap_end::<T, 1>) } else { None },
    };
    pub(crate) const DIRECT: sys::iomap_ops = sys::iomap_ops {
        iomap_begin: Some(iomap_begin::<T, 2>),
        iomap_end: if T::HAS_IOMAP_END { Some(iomap_end::<T, 2>) } else { None },
    };
    /// Checks a buffered write's mapping once the folio is locked (see [`FileSystem::iomap_valid`]).
    pub(crate) const FOLIO_OPS: sys::iomap_folio_ops = sys::iomap_folio_ops {
        get_folio: None,
        put_folio: None,
        iomap_valid: Some(iomap_valid::<T>),
    };
    /// Writeback (`iomap_writepages`).
    pub(crate) const WRITEBACK: sys::iomap_writeback_ops = sys::iomap_writeback_ops {
        map_blocks: Some(wb_map_blocks::<T>),
        prepare_ioend: Some(wb_prepare_ioend::<T>),
        discard_folio: None,
    };
    /// Direct writes: their completion goes to [`FileSystem::dio_write_end`].
    pub(crate) const DIO_WRITE_OPS: sys::iomap_dio_ops = sys::iomap_dio_ops {
        end_io: if T::HAS_DIO_WRITE_END { Some(dio_write_end_io::<T>) } else { None },
        submit_io: if T::HAS_DIO_SUBMIT_IO { Some(dio_submit_io::<T>) } else { None },
        bio_set: core::ptr::null_mut(),
    };
}

const fn path_of(p: u8) -> IoPath {
    match p {
        0 => IoPath::Read,
        1 => IoPath::BufferedWrite,
        _ => IoPath::Direct,
    }
}

/// The per-I/O state of a direct I/O: what the caller of `__iomap_dio_rw` passed as `private`.
///
/// # Safety
///
/// `iomap` must be the `iomap` field of an `iomap_iter` of a call through one of our tables; for
/// [`IoPath::Direct`] the iter's `private` is NULL or a `DioCall<T>` exclusively ours for the
/// call (the contract of [`IomapTables::DIRECT`]: `Kiocb::dio_rw` passes exactly that).
unsafe fn dio_data<'a, 'b, T: FileSystem>(path: IoPath, iomap: *mut sys::iomap) -> Option<&'a mut DioCall<'b, T>> {
    if path != IoPath::Direct {
        return None;
    }
    // SAFETY: see the function's safety section; container_of() of the iter.
    unsafe {
        let off = core::mem::offset_of!(sys::iomap_iter, iomap);
        let iter = iomap.cast::<u8>().sub(off).cast::<sys::iomap_iter>();
        (*iter).private.cast::<DioCall<'b, T>>().as_mut()
    }
}

/// The `iomap_ops.iomap_begin` callback of table `P` (0 read, 1 buffered write, 2 direct).
///
/// # Safety
///
/// Only iomap calls this, through one of our tables, with an initialised inode of ours and the
/// `iomap`/`srcmap` of its iter to fill, valid for the duration of the call.
unsafe extern "C" fn iomap_begin<T: FileSystem, const P: u8>(
    inode: *mut sys::inode,
    pos: sys::loff_t,
    length: sys::loff_t,
    flags: c_uint,
    iomap: *mut sys::iomap,
    srcmap: *mut sys::iomap,
) -> core::ffi::c_int {
    if pos < 0 || length <= 0 {
        return code::EINVAL.to_errno();
    }
    let path = path_of(P);
    // SAFETY: see the function's safety section.
    let (inode, dio) = unsafe { (Inode::<T>::from_raw(inode), dio_data::<T>(path, iomap)) };
    match T::iomap_begin(inode, path, pos as u64, length as u64, IomapFlags(flags), dio.map(|c| &mut *c.data)) {
        Ok((m, src)) => {
            let mapped = matches!(m.kind, MapKind::Mapped(_));
            // SAFETY: the superblock of a mounted inode has its device.
            let bdev = unsafe { (*inode.sb().as_ptr()).s_bdev };
            m.to_c(iomap, bdev);
            if path == IoPath::BufferedWrite && T::HAS_IOMAP_VALID {
                // SAFETY: `iomap` is ours to fill; the table is static.
                unsafe { (*iomap).folio_ops = &IomapTables::<T>::FOLIO_OPS };
            }
            if let Some(s) = src {
                s.to_c(srcmap, bdev);
            }
            if path == IoPath::Read && !IomapFlags(flags).report() && mapped {
                // Fault injection: a buffered read (its folios locked) that mapped blocks.
                super::file::read_map_delay();
            }
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// The `iomap_ops.iomap_end` callback of table `P`.
///
/// # Safety
///
/// As for [`iomap_begin`]; `iomap` is the mapping our `iomap_begin` filled.
unsafe extern "C" fn iomap_end<T: FileSystem, const P: u8>(
    inode: *mut sys::inode,
    pos: sys::loff_t,
    length: sys::loff_t,
    written: isize,
    flags: c_uint,
    iomap: *mut sys::iomap,
) -> core::ffi::c_int {
    let path = path_of(P);
    // SAFETY: see the function's safety section.
    let (inode, dio) = unsafe { (Inode::<T>::from_raw(inode), dio_data::<T>(path, iomap)) };
    let m = Mapping::from_c(iomap);
    let dio = dio.map(|c| c.split());
    let r = T::iomap_end(inode, path, pos.max(0) as u64, length.max(0) as u64, written.max(0) as u64, IomapFlags(flags), &m, dio);
    super::to_c(r)
}

/// The `iomap_dio_ops.end_io` callback of direct writes.
///
/// # Safety
///
/// Only iomap's `iomap_dio_complete` calls this, through [`IomapTables::DIO_WRITE_OPS`], for a
/// direct write on a regular file of ours whose kiocb is valid until the call returns. Direct
/// writes never complete inline in the bio's completion: iomap sets `IOMAP_DIO_INLINE_COMP` for
/// reads only, and our write path clears `IOCB_DIO_CALLER_COMP`; so this runs in process context.
unsafe extern "C" fn dio_write_end_io<T: FileSystem>(
    iocb: *mut sys::kiocb,
    size: isize,
    error: core::ffi::c_int,
    _flags: c_uint,
) -> core::ffi::c_int {
    // SAFETY: see the function's safety section; the file pins its inode.
    let (inode, pos, async_iocb) = unsafe {
        (
            Inode::<T>::from_raw(sys::ferrofs_shim_kiocb_inode(iocb)),
            sys::ferrofs_shim_kiocb_pos(iocb).max(0) as u64,
            !sys::ferrofs_shim_kiocb_is_sync(iocb),
        )
    };
    let err = (error < 0).then(|| kernel::error::Error::from_errno(error));
    super::to_c(T::dio_write_end(inode, pos, size.max(0) as u64, err, async_iocb))
}

/// The `iomap_dio_ops.submit_io` callback.
///
/// # Safety
///
/// Only iomap's direct I/O calls this, through [`IomapTables::DIO_OPS`], with the iter of a
/// direct I/O through [`IomapTables::DIRECT`] and a bio it built and did not submit.
unsafe extern "C" fn dio_submit_io<T: FileSystem>(iter: *const sys::iomap_iter, bio: *mut sys::bio, file_offset: sys::loff_t) {
    // SAFETY: see the function's safety section; the iter's inode is ours and its private is the
    // direct I/O's state (or NULL).
    unsafe {
        let inode = Inode::<T>::from_raw((*iter).inode);
        let dio = (*iter).private.cast::<DioCall<'_, T>>().as_mut().map(|c| &mut *c.data);
        let Some(bio) = NonNull::new(bio) else { return };
        T::dio_submit_io(inode, Bio(bio), file_offset.max(0) as u64, dio);
    }
}

/// The `iomap_folio_ops.iomap_valid` callback.
///
/// # Safety
///
/// Only iomap calls this, for a mapping our `iomap_begin` filled on the buffered write path, with
/// that inode, while the write holds the inode lock.
unsafe extern "C" fn iomap_valid<T: FileSystem>(inode: *mut sys::inode, iomap: *const sys::iomap) -> bool {
    // SAFETY: see the function's safety section.
    let inode = unsafe { Inode::<T>::from_raw(inode) };
    T::iomap_valid(inode, &Mapping::from_c(iomap))
}

/// The filesystem's state of one writeback pass (`iomap_writepages` call), beside iomap's context.
///
/// # Invariants
///
/// `wpc` is the first field, so iomap's `iomap_writepage_ctx` pointer is a pointer to this.
#[repr(C)]
pub(crate) struct WritebackCtx<T: FileSystem> {
    wpc: sys::iomap_writepage_ctx,
    state: T::WritebackState,
}

/// The `iomap_writeback_ops.map_blocks` callback.
///
/// # Safety
///
/// Only iomap calls this from [`writepages`], with the context that function built and an inode of
/// ours whose folio at `offset` is locked and under writeback.
unsafe extern "C" fn wb_map_blocks<T: FileSystem>(
    wpc: *mut sys::iomap_writepage_ctx,
    inode: *mut sys::inode,
    offset: sys::loff_t,
    len: c_uint,
) -> core::ffi::c_int {
    if offset < 0 || len == 0 {
        return code::EINVAL.to_errno();
    }
    // SAFETY: see the function's safety section; the context is a `WritebackCtx<T>` (invariant).
    let (ctx, inode) = unsafe { (&mut *wpc.cast::<WritebackCtx<T>>(), Inode::<T>::from_raw(inode)) };
    // A mapping from an earlier call that still covers the range is reused.
    let cur = Mapping::from_c(&ctx.wpc.iomap);
    let off = offset as u64;
    if ctx.wpc.iomap.length > 0 && cur.kind != MapKind::Hole && off >= cur.offset && off - cur.offset < cur.length {
        return 0;
    }
    match T::writeback_map(inode, &mut ctx.state, off, len as u64) {
        Ok(m) => {
            // SAFETY: the superblock of a mounted inode has its device.
            let bdev = unsafe { (*inode.sb().as_ptr()).s_bdev };
            m.to_c(&mut ctx.wpc.iomap, bdev);
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// The `iomap_writeback_ops.prepare_ioend` callback: completion goes to the filesystem's
/// workqueue ([`FileSystem::writeback_done`]) instead of ending the folios' writeback at once.
///
/// # Safety
///
/// Only iomap calls this, with an ioend built for an inode of ours, before submitting it.
unsafe extern "C" fn wb_prepare_ioend<T: FileSystem>(ioend: *mut sys::iomap_ioend, status: core::ffi::c_int) -> core::ffi::c_int {
    // SAFETY: see the function's safety section; the ioend's inode is ours and mounted.
    unsafe {
        let inode = Inode::<T>::from_raw(sys::ferrofs_shim_ioend_inode(ioend));
        sys::ferrofs_shim_ioend_hook(ioend, inode.sb().state().ioends.0.as_ptr());
    }
    status
}

/// Writes back dirty folios of `inode` through [`FileSystem::writeback_map`] (`iomap_writepages`).
///
/// # Safety
///
/// `mapping` and `wbc` are the arguments of a `writepages` call on an inode of ours.
pub(crate) unsafe fn writepages<T: FileSystem>(mapping: *mut sys::address_space, wbc: *mut sys::writeback_control) -> core::ffi::c_int {
    // SAFETY: an all-zero iomap_writepage_ctx is the documented initial state.
    let mut ctx = WritebackCtx::<T> { wpc: unsafe { core::mem::zeroed() }, state: Default::default() };
    // SAFETY: valid arguments (caller); the context lives across the call.
    unsafe { sys::iomap_writepages(mapping, wbc, &mut ctx.wpc, &IomapTables::<T>::WRITEBACK) }
}

/// A completed writeback ioend whose folios are still under writeback: they stay so (and the
/// inode with them, since eviction waits for writeback) until the ioend is released.
///
/// Releasing (or dropping) it does not end the writeback at once: the ioend goes back on the
/// completion queue, whose work ends it after the callback it is running. So the inode a
/// [`FileSystem::writeback_done`] call was given stays valid for the whole call.
///
/// # Invariants
///
/// `0` is an ioend of an inode of ours, hooked by `wb_prepare_ioend`, whose bio completed and that
/// nobody else finishes or queues.
pub(crate) struct Ioend<T: FileSystem>(NonNull<sys::iomap_ioend>, PhantomData<T>);

// SAFETY: an ioend may be released from any task context.
unsafe impl<T: FileSystem> Send for Ioend<T> {}
// SAFETY: shared access only reads immutable fields.
unsafe impl<T: FileSystem> Sync for Ioend<T> {}

/// What a completed ioend wrote.
#[derive(Clone, Copy, Debug)]
pub(crate) struct IoendInfo {
    /// File offset.
    pub(crate) offset: u64,
    /// Bytes submitted (whole blocks).
    pub(crate) len: u64,
    /// 0 or the negative errno of the I/O.
    pub(crate) error: i32,
}

impl<T: FileSystem> Ioend<T> {
    /// Range and status.
    pub(crate) fn info(&self) -> IoendInfo {
        let (mut off, mut len, mut err) = (0, 0, 0);
        // SAFETY: a completed ioend (type invariant): its bio's vectors and status are final.
        unsafe { sys::ferrofs_shim_ioend_info(self.0.as_ptr(), &mut off, &mut len, &mut err) };
        IoendInfo { offset: off.max(0) as u64, len, error: err }
    }

    /// Has the folios' writeback ended, recording `error` (0 or a negative errno) on them and on
    /// the mapping; see the type's documentation for when.
    pub(crate) fn release(self, error: i32) {
        let p = self.0.as_ptr();
        core::mem::forget(self);
        // SAFETY: a completed, hooked ioend queued exactly once more (type invariant; `self` is
        // consumed).
        unsafe { sys::ferrofs_shim_ioend_release(p, error) };
    }
}

impl<T: FileSystem> Drop for Ioend<T> {
    fn drop(&mut self) {
        // SAFETY: as in `release`, with the ioend's own status.
        unsafe { sys::ferrofs_shim_ioend_release(self.0.as_ptr(), 0) };
    }
}

/// The ioend queue's work: hands every completed ioend to [`FileSystem::writeback_done`] and ends
/// the writeback of released ones.
///
/// # Safety
///
/// Only the per-mount workqueue calls this, for the work of the queue owned by a live
/// `SbState<T>`, flushed before the state goes away.
pub(crate) unsafe extern "C" fn ioend_work_fn<T: FileSystem>(work: *mut sys::work_struct) {
    // SAFETY: see the function's safety section.
    let q = unsafe { sys::ferrofs_shim_ioend_queue_of_work(work) };
    loop {
        // Thousands of ioends can wait here for one run (a big file's writeback): let others run
        // between them, as iomap's own completion does (a soft lockup otherwise, generic/742).
        super::cond_resched();
        let mut release = false;
        // SAFETY: a live queue (see above).
        let Some(p) = NonNull::new(unsafe { sys::ferrofs_shim_ioend_queue_pop(q, &mut release) }) else { break };
        if release {
            // SAFETY: a released ioend, popped once: its folios' writeback ends now, with the
            // status recorded in its bio.
            unsafe {
                let (mut off, mut len, mut err) = (0, 0, 0);
                sys::ferrofs_shim_ioend_info(p.as_ptr(), &mut off, &mut len, &mut err);
                sys::iomap_finish_ioends(p.as_ptr(), err);
            }
            continue;
        }
        // SAFETY: an unfinished ioend pins its inode (eviction waits for writeback); it is
        // finished only by this work, after the callback returns (see `Ioend`), so the inode is
        // valid for the whole call.
        let inode = unsafe { Inode::<T>::from_raw(sys::ferrofs_shim_ioend_inode(p.as_ptr())) };
        T::writeback_done(inode, Ioend(p, PhantomData));
    }
}

/// Checks the mapping of a folio's range before `iomap_read_folio` (which turns every error into
/// `EIO`), so corrupt metadata reaches the reader as `EUCLEAN`.
pub(crate) fn check_read<T: FileSystem>(inode: &Inode<T>, pos: u64, len: u64) -> Result {
    T::iomap_begin(inode, IoPath::Read, pos, len, IomapFlags(0), None).map(|_| ())
}
