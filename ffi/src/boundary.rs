//! The panic boundary and the raw-pointer helpers every entry point goes through.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::status::rt_status;

/// Runs `f`, turning a panic into `RT_STATUS_PANIC` so none crosses into C. The core is
/// proven panic-free at link time; this guards the glue around it.
pub(crate) fn guard(f: impl FnOnce() -> Result<(), rt_status>) -> rt_status {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => rt_status::Ok,
        Ok(Err(status)) => status,
        Err(_) => rt_status::Panic,
    }
}

/// Borrows `len` bytes at `ptr`; NULL is allowed only with `len == 0`.
///
/// # Safety
/// When non-NULL, `ptr` must point to `len` readable bytes that stay valid and unmodified for
/// the returned lifetime.
pub(crate) unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], rt_status> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(rt_status::NullParameter);
    }
    // SAFETY: non-NULL and, by this function's contract, valid for `len` bytes.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Borrows a fixed-size array at `ptr` (which must not be NULL).
///
/// # Safety
/// When non-NULL, `ptr` must point to `N` readable bytes.
pub(crate) unsafe fn array<const N: usize>(ptr: *const u8) -> Result<[u8; N], rt_status> {
    if ptr.is_null() {
        return Err(rt_status::NullParameter);
    }
    let mut out = [0u8; N];
    // SAFETY: non-NULL and, by contract, valid for N bytes; `out` is a distinct local.
    unsafe { std::ptr::copy_nonoverlapping(ptr, out.as_mut_ptr(), N) };
    Ok(out)
}

/// A caller's output buffer, checked up front so a short buffer fails before any state change.
pub(crate) struct OutBuf {
    ptr: *mut u8,
    len_out: *mut usize,
}

impl OutBuf {
    /// Checks that `ptr` and `len_out` are non-NULL and that `cap >= need`.
    pub(crate) fn new(
        ptr: *mut u8,
        cap: usize,
        len_out: *mut usize,
        need: usize,
    ) -> Result<OutBuf, rt_status> {
        if ptr.is_null() || len_out.is_null() {
            return Err(rt_status::NullParameter);
        }
        if cap < need {
            return Err(rt_status::BufferTooSmall);
        }
        Ok(OutBuf { ptr, len_out })
    }

    /// Writes `data` (at most the checked capacity) and its length.
    ///
    /// # Safety
    /// The buffer given to [`OutBuf::new`] must be writable for its capacity, and `data` no
    /// longer than the `need` checked there.
    pub(crate) unsafe fn write(&self, data: &[u8]) {
        // SAFETY: checked non-NULL and large enough in `new`; `data` is Rust-owned, so the
        // regions cannot overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(data.as_ptr(), self.ptr, data.len());
            *self.len_out = data.len();
        }
    }
}

/// Writes `value` through `out` (which must not be NULL).
///
/// # Safety
/// When non-NULL, `out` must be valid for a write of `T`.
pub(crate) unsafe fn put<T>(out: *mut T, value: T) -> Result<(), rt_status> {
    if out.is_null() {
        return Err(rt_status::NullParameter);
    }
    // SAFETY: non-NULL and, by contract, valid for writes.
    unsafe { out.write(value) };
    Ok(())
}

/// Checks that `out` is non-NULL before any work, so outputs are all-or-nothing.
pub(crate) fn need<T>(out: *mut T) -> Result<(), rt_status> {
    if out.is_null() {
        Err(rt_status::NullParameter)
    } else {
        Ok(())
    }
}
