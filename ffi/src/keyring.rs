//! `rt_keyring`: the keys, shared by every rt_sessions built from them.

use std::sync::Arc;

use rolltoken::keys::{KeyMaterial, Keyring, MAX_KEYS};

use crate::boundary::{self, guard};
use crate::status::rt_status;

/// A keyring: up to 4 keys (32-byte secret, 1-byte id), one minting, all verifying.
///
/// **Ownership:** created by rt_keyring_new, freed by rt_keyring_free. An rt_sessions built
/// from it keeps its own reference, so the keyring may be freed first.
/// **Thread safety:** immutable after creation; may be shared by any number of threads.
/// Secrets are zeroized when the last reference goes.
#[derive(Debug)]
pub struct rt_keyring {
    pub(crate) keys: Arc<Keyring>,
}

/// Builds a keyring from `count` keys: key `i` has id `key_ids[i]` and the 32-byte secret
/// at `secrets + 32 * i`. `minting_id` names the key that mints new tokens. On success
/// `*out` owns a new keyring.
///
/// # Errors
/// `RT_STATUS_NULL_PARAMETER`, `RT_STATUS_KEY_EMPTY`, `RT_STATUS_KEY_TOO_MANY`,
/// `RT_STATUS_KEY_DUPLICATE_ID`, `RT_STATUS_KEY_MINTING_MISSING`.
///
/// # Safety
/// `key_ids` points to `count` bytes and `secrets` to `32 * count` bytes; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_keyring_new(
    key_ids: *const u8,
    secrets: *const u8,
    count: usize,
    minting_id: u8,
    out: *mut *mut rt_keyring,
) -> rt_status {
    guard(|| {
        boundary::need(out)?;
        if count == 0 {
            return Err(rt_status::KeyEmpty);
        }
        if count > MAX_KEYS {
            return Err(rt_status::KeyTooMany);
        }
        // SAFETY: the caller passes `count` ids and `32 * count` secret bytes.
        let ids = unsafe { boundary::bytes(key_ids, count) }?;
        let secret_len = count.checked_mul(32).ok_or(rt_status::InvalidArgument)?;
        // SAFETY: as above.
        let raw = unsafe { boundary::bytes(secrets, secret_len) }?;
        let mut material: Vec<KeyMaterial> = Vec::with_capacity(count);
        for (id, secret) in ids.iter().zip(raw.chunks_exact(32)) {
            material.push(KeyMaterial::from_slice(*id, secret)?);
        }
        let keys = Keyring::new(&material, minting_id)?;
        let handle = Box::new(rt_keyring {
            keys: Arc::new(keys),
        });
        // SAFETY: checked non-NULL above.
        unsafe { boundary::put(out, Box::into_raw(handle)) }
    })
}

/// Frees a keyring (NULL: nothing happens).
///
/// # Safety
/// `keyring` comes from rt_keyring_new and is not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_keyring_free(keyring: *mut rt_keyring) {
    if !keyring.is_null() {
        // SAFETY: by contract, from Box::into_raw in rt_keyring_new and freed once.
        drop(unsafe { Box::from_raw(keyring) });
    }
}
